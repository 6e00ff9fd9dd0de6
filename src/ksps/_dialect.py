"""The original KSPS spelling of the Python API, as one table of aliases per class.

The Python API is snake_case (PEP 8): ``client.subscribe``, ``server.publish_with_ack``. The original KSPS
clients and servers spell the same verbs in PascalCase (``Subscribe``, ``PublishWithAck``), and code written
for them keeps working here: each public class lists its PascalCase names once, in ``KSPS_NAMES``, and
:class:`KspsSpelling` resolves them on attribute lookup. Nothing is defined twice, so ``help()`` and
``dir()`` show one name per verb, and the table is the documentation of the aliases (docs/python-api.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = ["KspsSpelling", "KspsSpellingMeta"]


class KspsSpellingMeta(type):
    """Resolves PascalCase names on the class itself (``Client.NewClient``)."""

    def __getattr__(cls, name: str) -> Any:
        for klass in cls.__mro__:
            target = klass.__dict__.get("KSPS_NAMES", {}).get(name)
            if target is not None:
                return getattr(cls, target)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


class KspsSpelling(metaclass=KspsSpellingMeta):
    """Base of the public classes: ``obj.Subscribe`` is ``obj.subscribe`` (see ``KSPS_NAMES``).

    ``__getattr__`` runs only when normal lookup fails, so the snake_case API costs nothing extra.
    """

    #: PascalCase name -> the snake_case attribute it stands for.
    KSPS_NAMES: ClassVar[Mapping[str, str]] = {}

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        for klass in type(self).__mro__:
            target = klass.__dict__.get("KSPS_NAMES", {}).get(name)
            if target is not None:
                return getattr(self, target)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
