"""The original KSPS spelling of the Python API, as one table of aliases per class.

The Python API is snake_case (PEP 8): ``client.subscribe``, ``server.publish_with_ack``. The original KSPS
clients and servers spell the same verbs in PascalCase (``Subscribe``, ``PublishWithAck``), and code written
for them keeps working here: each public class lists its PascalCase names once, in ``KSPS_NAMES``, and
:class:`KspsSpellingMeta` binds each alias to its target when the class is created. Nothing is written twice,
and ``help()`` and ``dir()`` hide the aliases, so they show one name per verb; the table is the documentation of
the aliases (docs/python-api.md).

Why bind at class creation rather than resolve in ``__getattr__``: seed code calls ``client.Publish`` in
loops, and a failed attribute lookup followed by ``__getattr__`` costs microseconds per call (measured 2-4 µs
on the bench machine, about the cost of a whole publication); a bound alias costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

__all__ = ["KspsSpelling", "KspsSpellingMeta"]


class KspsSpellingMeta(type):
    """Binds the PascalCase names of ``KSPS_NAMES`` (the class's and its bases') to their targets."""

    #: Every alias of the class, hidden from ``dir()``.
    _ksps_aliases: frozenset[str]

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(name, bases, namespace, **kwargs)
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            table.update(klass.__dict__.get("KSPS_NAMES", {}))
        for alias, target in table.items():
            type.__setattr__(cls, alias, _target(cls, alias, target))
        cls._ksps_aliases = frozenset(table)

    def __dir__(cls) -> list[str]:
        return [name for name in super().__dir__() if name not in cls._ksps_aliases]

    if TYPE_CHECKING:  # for type checkers only: the aliases are bound at class creation, invisible to them

        def __getattr__(cls, name: str) -> Any: ...


def _target(cls: type, alias: str, target: str) -> Any:
    """What `alias` stands for: the class attribute `target` (function, property, classmethod, slot), or a
    property reading the instance attribute `target`."""
    for klass in cls.__mro__:
        if target in klass.__dict__ and klass.__dict__[target] is not None:
            return klass.__dict__[target]
    return property(lambda self: getattr(self, target), doc=f"Same as `{target}` (KSPS spelling `{alias}`).")


class KspsSpelling(metaclass=KspsSpellingMeta):
    """Base of the public classes: ``obj.Subscribe`` is ``obj.subscribe`` (see ``KSPS_NAMES``)."""

    #: PascalCase name -> the snake_case attribute it stands for.
    KSPS_NAMES: ClassVar[Mapping[str, str]] = {}

    __slots__ = ()

    def __dir__(self) -> list[str]:
        return [name for name in super().__dir__() if name not in type(self)._ksps_aliases]

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...
