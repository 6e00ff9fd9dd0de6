"""Where `ksps serve` and `ksps config` get their settings: defaults < config file < environment < command line.

Every :class:`ServerConfig` field declared with :func:`~ksps.server.config.setting` is an :class:`Option`: a flag
(`--max-message-size`), an environment variable (`KSPS_MAX_MESSAGE_SIZE`) and a config-file key
(`max_message_size`), with its help and default read from the field. :class:`ProcessConfig` adds the settings
of the process itself (workers, logs) the same way. Values are checked by `ServerConfig.validate()`; the
problems come back named as the user wrote them (flag, variable, file).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .errors import ConfigError, ConfigProblem
from .server.config import SETTING, ServerConfig, SettingDoc, setting

__all__ = ["OPTIONS", "Effective", "Option", "ProcessConfig", "load", "to_toml"]


@dataclass
class ProcessConfig:
    """Settings of the `ksps serve` process itself, beside the server's."""

    #: Server processes sharing the port (SO_REUSEPORT), 1 or more; more than 1 needs `redis_url`. Default 1.
    workers: int = setting(1, "server processes sharing the port (SO_REUSEPORT); more than 1 needs --redis")
    #: Lowest level logged. Default "info": one line per connection opened and closed (docs/observability.md).
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", "lowest level logged")
    #: Log line format. Default "logfmt".
    log_format: Literal["logfmt", "json"] = setting("logfmt", "log line format")

    def problems(self, server: ServerConfig) -> list[ConfigProblem]:
        """What cannot work in these settings, with `server`'s."""
        found = []
        for name in ("log_level", "log_format"):
            allowed = typing.get_args(typing.get_type_hints(ProcessConfig)[name])
            if getattr(self, name) not in allowed:
                found.append(ConfigProblem(name, f"must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"))
        if self.workers < 1:
            found.append(ConfigProblem("workers", f"must be 1 or more, got {self.workers}"))
        elif self.workers > 1 and not server.redis_url:
            found.append(ConfigProblem("workers", "more than 1 needs --redis (the workers talk to each other over it)"))
        elif self.workers > 1 and server.address.endswith(":0"):
            found.append(ConfigProblem("workers", "more than 1 needs a fixed port in --address, not 0"))
        return found


@dataclass(frozen=True)
class Option:
    """One setting as the user sees it: flag, environment variable, config-file key, help."""

    key: str
    hint: Any
    default: Any
    doc: SettingDoc

    @property
    def flag(self) -> str:
        """`--field-name`, or `--` and the `flag` the field's `setting()` gives."""
        return "--" + (self.doc.flag or self.key.replace("_", "-"))

    @property
    def env(self) -> str:
        """The environment variable: `KSPS_` and the flag in capitals."""
        return "KSPS_" + self.flag[2:].replace("-", "_").upper()

    @property
    def label(self) -> str:
        """How error messages name it."""
        return f"{self.flag} ({self.env})"

    @property
    def metavar(self) -> str:
        """The placeholder of the value in `--help`."""
        if typing.get_origin(self.hint) is Literal:
            return "|".join(choice for choice in typing.get_args(self.hint) if choice)
        if typing.get_origin(self.hint) is tuple:
            return "A,B,..."
        return {int: "N", float: "NUM"}.get(self.hint, "TEXT")

    @property
    def is_switch(self) -> bool:
        """A yes/no option: the flag alone means yes."""
        return self.hint is bool

    def help(self) -> str:
        """The line of `--help`, ending with the default."""
        return f"{self.doc.help} (default: {self.default_text()})"

    def default_text(self) -> str:
        """The default as `--help` shows it: from the field's actual default unless the field says otherwise."""
        value = self.default
        if self.doc.default_text:
            return self.doc.default_text
        if value in ("", ()):
            return "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def parse(self, value: object) -> object:
        """The typed value of `value`: text from a flag or variable, or a TOML value. Raises ValueError."""
        kind = self.hint
        if typing.get_origin(kind) is Literal and isinstance(value, str) and value.lower() in typing.get_args(kind):
            return value.lower()  # KSPS_LOG_LEVEL=INFO worked before the choices were checked
        if isinstance(value, str) and kind is not str and typing.get_origin(kind) is not Literal:
            value = value.strip()
            if kind is bool:
                return switch(value)
            if typing.get_origin(kind) is tuple:
                return names(value, ";" if self.doc.repeatable else ",")
            try:
                return int(value) if kind is int else float(value)
            except ValueError:
                raise ValueError(f"must be {'a whole number' if kind is int else 'a number'}, got {value!r}") from None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if typing.get_origin(kind) is tuple and isinstance(value, list):
            if all(isinstance(item, str) for item in value):
                return tuple(item.strip() for item in value)
            raise ValueError(f"must be a list of strings, got {value!r}")
        expected = str if typing.get_origin(kind) is Literal else kind
        if type(value) is not expected:
            raise ValueError(f"must be of type {_TOML_TYPE.get(expected, 'array')}, got {value!r}")
        return value


_TOML_TYPE: dict[Any, str] = {str: "string", int: "integer", float: "float", bool: "boolean"}


def switch(text: str) -> bool:
    """A yes/no option: given alone on the command line it means yes; env vars say 1/true/yes or 0/false/no."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be yes/no, true/false, on/off or 1/0, got {text!r}")


def names(text: str, separator: str = ",") -> tuple[str, ...]:
    """A comma-separated list (or `separator`); blanks around and between the separators are dropped."""
    return tuple(part.strip() for part in text.split(separator) if part.strip())


def _options(cls: type) -> tuple[Option, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        Option(key=item.name, hint=hints[item.name], default=item.default, doc=item.metadata[SETTING])
        for item in fields(cls)
        if SETTING in item.metadata
    )


#: Every option of `ksps serve`: the server's (in `ServerConfig` order), then the process's.
SERVER_OPTIONS = _options(ServerConfig)
OPTIONS = SERVER_OPTIONS + _options(ProcessConfig)
_BY_KEY = {option.key: option for option in OPTIONS}


@dataclass
class Effective:
    """The settings `ksps serve` runs with, and where each value that is not a default came from."""

    server: ServerConfig
    process: ProcessConfig
    origins: dict[str, str] = field(default_factory=dict)

    def value(self, option: Option) -> Any:
        """The effective value of `option`."""
        return getattr(self.process if option.key in _PROCESS_KEYS else self.server, option.key)


_PROCESS_KEYS = frozenset(option.key for option in OPTIONS[len(SERVER_OPTIONS) :])


def load(config_file: str, flags: Mapping[str, object], environ: Mapping[str, str] = os.environ) -> Effective:
    """Merge defaults < `config_file` (TOML, may be "") < `environ` (`KSPS_*`) < `flags` (key: text or None).

    Raises :class:`ConfigError` with every problem, each named by flag and variable (and file).
    """
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    sources: list[tuple[str, Iterable[tuple[str, object]]]] = [
        (f"in {config_file}", read_file(config_file, problems).items() if config_file else ()),
        ("from the environment", ((o.key, environ.get(o.env)) for o in OPTIONS)),
        ("on the command line", ((o.key, flags.get(o.key)) for o in OPTIONS)),
    ]
    for origin, pairs in sources:
        for key, raw in pairs:
            if raw is None or (raw == "" and origin == "from the environment"):
                continue  # an empty variable is unset, as before
            try:
                values[key], origins[key] = _BY_KEY[key].parse(raw), origin
            except ValueError as exc:  # reported with the others; the checks go on with the rest
                problems.append(ConfigProblem(f"{_BY_KEY[key].label} {origin}", str(exc)))
    server = ServerConfig(**{k: v for k, v in values.items() if k not in _PROCESS_KEYS})  # type: ignore[arg-type]
    process = ProcessConfig(**{k: v for k, v in values.items() if k in _PROCESS_KEYS})  # type: ignore[arg-type]
    try:
        server.validate()
    except ConfigError as exc:
        problems.extend(exc.problems)
    problems.extend(process.problems(server))
    if problems:
        raise ConfigError(_named(problem, origins) for problem in problems)  # every problem, in one round
    return Effective(server, process, origins)


def _named(problem: ConfigProblem, origins: Mapping[str, str]) -> ConfigProblem:
    option = _BY_KEY.get(problem.setting)
    if option is None:
        return problem
    where = origins.get(option.key, "by default")
    return problem._replace(setting=f"{option.label} {where}")


def read_file(path: str, problems: list[ConfigProblem]) -> dict[str, object]:
    """The settings of a TOML config file; what is wrong with it goes to `problems`."""
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except OSError as exc:
        problems.append(ConfigProblem("--config (KSPS_CONFIG)", f"cannot read {path}: {exc.strerror or exc}", True))
        return {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(ConfigProblem("--config (KSPS_CONFIG)", f"{path} is not valid TOML: {exc}"))
        return {}
    for key in [key for key in table if key not in _BY_KEY]:
        close = difflib.get_close_matches(key, _BY_KEY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(ConfigProblem("--config (KSPS_CONFIG)", f"unknown key {key!r} in {path}{hint}"))
        del table[key]
    return table


def to_toml(effective: Effective) -> str:
    """The effective settings as a config file: every key, its help and default as a comment; secrets masked."""
    lines = ["# ksps configuration: defaults < config file < environment (KSPS_*) < command line", ""]
    for option in OPTIONS:
        value = effective.value(option)
        if option.doc.secret and value:
            value = "***"
        lines.append(f"# {option.help()}")
        lines.append(f"{option.key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # A JSON string is a TOML basic string: the same escapes (\", \\, \n, \uXXXX).
    return json.dumps(str(value), ensure_ascii=False)
