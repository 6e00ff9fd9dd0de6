"""Every check of a :class:`ServerConfig`, in one place: `ServerConfig.validate()`, `Server(...)` and `ksps serve`.

A check names the setting (the field name; `ksps serve` turns it into the flag and the `KSPS_*` variable) and
says what is allowed, so a user can fix every problem in one round. Files are opened here, before anything
starts, so an unreadable certificate or key is named instead of failing later with a bare `No such file`.
"""

from __future__ import annotations

import ipaddress
import math
import ssl
import typing
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

from ..broker import parse_relay_address
from ..broker.history import parse_history_rule
from ..errors import ConfigProblem, KspsError
from .config import SETTING, ServerConfig

__all__ = ["MIN_ADMIN_TOKEN", "MIN_MESSAGE_SIZE", "check"]

#: Shortest `admin_token`.
MIN_ADMIN_TOKEN = 16

#: Smallest `max_message_size`: room for a registration `ping` with an ID of `max_id_bytes` (256) and its JSON.
MIN_MESSAGE_SIZE = 512

#: Settings whose value must be at least 1 (a limit of 0 would refuse everything, and does not mean "off").
_AT_LEAST_ONE = frozenset(
    {"frame_burst", "max_topic_bytes", "max_id_bytes", "max_send_queue", "max_message_fragments",
     "history_recover_max", "history_max_topics", "history_max_bytes",
     "history_outage_max_bytes"}
)  # fmt: skip
#: Durations that must be more than 0; the other durations may be 0 (off, or no wait).
_POSITIVE = frozenset(
    {"default_ack_timeout", "max_ack_timeout", "handshake_timeout", "relay_timeout", "peer_clock_window",
     "cluster_heartbeat", "cluster_node_timeout", "history_ttl"}
)  # fmt: skip


def check(config: ServerConfig) -> list[ConfigProblem]:
    """Every problem of `config`; empty when it can run."""
    problems = list(_types(config))
    if problems:  # the value checks below assume the types
        return problems
    for rule in _RULES:
        problems.extend(rule(config))
    return problems


def _types(config: ServerConfig) -> Iterator[ConfigProblem]:
    hints = typing.get_type_hints(ServerConfig)
    for item in fields(ServerConfig):
        if SETTING not in item.metadata:
            continue
        value, hint = getattr(config, item.name), hints[item.name]
        if typing.get_origin(hint) is typing.Literal:
            if value not in typing.get_args(hint):
                allowed = ", ".join(choice for choice in typing.get_args(hint) if choice)
                yield ConfigProblem(item.name, f"must be one of {allowed}, got {value!r}")
        elif hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                yield ConfigProblem(item.name, f"must be a finite number, got {value!r}")
        elif hint is int and (isinstance(value, bool) or not isinstance(value, int)):
            yield ConfigProblem(item.name, f"must be a whole number, got {value!r}")
        elif hint is bool and not isinstance(value, bool):
            yield ConfigProblem(item.name, f"must be true or false, got {value!r}")
        elif hint is str and not isinstance(value, str):
            yield ConfigProblem(item.name, f"must be a string, got {value!r}")
        elif typing.get_origin(hint) is tuple and (
            not isinstance(value, tuple | list) or not all(isinstance(part, str) for part in value)
        ):
            yield ConfigProblem(item.name, f"must be a list of strings, got {value!r}")


def _ranges(config: ServerConfig) -> Iterator[ConfigProblem]:
    for item in fields(ServerConfig):
        value = getattr(config, item.name)
        if SETTING not in item.metadata or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if item.name == "max_message_size":
            continue  # its own minimum, below
        if item.name in _AT_LEAST_ONE and value < 1:
            yield ConfigProblem(item.name, f"must be 1 or more, got {value}")
        elif item.name in _POSITIVE and value <= 0:
            yield ConfigProblem(item.name, f"must be more than 0, got {value}")
        elif value < 0:
            yield ConfigProblem(item.name, f"must be 0 or more, got {value}")
    if config.max_message_size < MIN_MESSAGE_SIZE:
        yield ConfigProblem(
            "max_message_size", f"must be {MIN_MESSAGE_SIZE} or more (room for a ping), got {config.max_message_size}"
        )
    if config.keepalive_interval > 0 and config.keepalive_timeout > config.keepalive_interval:
        # picows asserts this on every new connection, which would then be dropped without a word.
        yield ConfigProblem(
            "keepalive_timeout",
            f"({config.keepalive_timeout} s) cannot exceed keepalive_interval ({config.keepalive_interval} s)",
        )
    if config.cluster_node_timeout <= config.cluster_heartbeat:
        yield ConfigProblem(
            "cluster_node_timeout",
            f"({config.cluster_node_timeout} s) must be more than cluster_heartbeat ({config.cluster_heartbeat} s)",
        )


def _addresses(config: ServerConfig) -> Iterator[ConfigProblem]:
    yield from _listen_address("address", config.address)
    if config.metrics_address:
        yield from _listen_address("metrics_address", config.metrics_address)
    if not config.path.startswith("/") or any(char in config.path for char in " ?#"):
        yield ConfigProblem("path", f"must start with / and hold no space, ? or #, got {config.path!r}")
    if config.server_id and len(config.server_id.encode()) > config.max_id_bytes:
        yield ConfigProblem("server_id", f"is longer than max_id_bytes ({config.max_id_bytes} bytes)")
    for name in ("peers", "public_addresses"):
        for address in getattr(config, name):
            try:
                parse_relay_address(address)
            except ValueError as exc:
                yield ConfigProblem(name, str(exc))
    for network in config.trusted_proxies:
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            yield ConfigProblem("trusted_proxies", f"{network!r} is not an IP address or CIDR (e.g. 10.0.0.0/8)")
    if config.redis_url and not config.redis_url.startswith(("redis://", "rediss://", "unix://")):
        yield ConfigProblem("redis_url", f"must start with redis://, rediss:// or unix://, got {config.redis_url!r}")
    if not config.redis_prefix:
        yield ConfigProblem("redis_prefix", "must not be empty")


def _listen_address(name: str, address: str) -> Iterator[ConfigProblem]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        yield ConfigProblem(name, f"must be host:port with a port from 1 to 65535 (0 = any free port), got {address!r}")
    elif host.startswith("[") != host.endswith("]"):
        yield ConfigProblem(name, f"has an unbalanced [ ] around the host: {address!r}")


def _files(config: ServerConfig) -> Iterator[ConfigProblem]:
    unreadable = set()
    for name in ("tls_cert", "tls_key", "jwt_public_key", "jwt_jwks"):
        path = getattr(config, name)
        if path:
            try:
                with Path(path).open("rb") as file:
                    file.read(1)
            except OSError as exc:
                unreadable.add(name)
                yield ConfigProblem(name, f"cannot read {path}: {exc.strerror or exc}", file=True)
    if config.ssl_context is None and bool(config.tls_cert) != bool(config.tls_key):
        missing = "tls_key" if config.tls_cert else "tls_cert"
        yield ConfigProblem(missing, "TLS needs both a certificate (tls_cert) and a key (tls_key)")
    elif config.ssl_context is None and config.tls_cert and not unreadable & {"tls_cert", "tls_key"}:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(config.tls_cert, config.tls_key)
        except ssl.SSLError as exc:
            pair = f"{config.tls_cert} and {config.tls_key}"
            yield ConfigProblem("tls_cert", f"{pair} are not a PEM certificate and its key: {exc}", file=True)
    if not unreadable & {"jwt_public_key", "jwt_jwks"}:
        yield from _jwt_keys(config)


def _jwt_keys(config: ServerConfig) -> Iterator[ConfigProblem]:
    from .auth import TokenVerifier  # loads the JWT library only when a key is configured

    try:
        TokenVerifier.from_config(config)
    except KspsError as exc:
        yield ConfigProblem("jwt_jwks" if config.jwt_jwks else "jwt_public_key", str(exc), file=True)


def _admin(config: ServerConfig) -> Iterator[ConfigProblem]:
    # A short token could be guessed over the network; the page can publish to any topic.
    if config.admin_token and len(config.admin_token) < MIN_ADMIN_TOKEN:
        yield ConfigProblem("admin_token", f"must be at least {MIN_ADMIN_TOKEN} characters (or empty: no admin page)")


def _history(config: ServerConfig) -> Iterator[ConfigProblem]:
    # -- history (spec §14.1): each rule PATTERN=SIZE,TTL must parse.
    for rule in config.history:
        try:
            parse_history_rule(rule, default_ttl=config.history_ttl)
        except ValueError as exc:
            yield ConfigProblem("history", str(exc))


_RULES: tuple[Callable[[ServerConfig], Iterator[ConfigProblem]], ...] = (_ranges, _addresses, _files, _admin, _history)
