"""Which topics keep history, how many publications and for how long (spec §14.1). No I/O.

A rule is `PATTERN=SIZE,TTL` (`--history`), where `*` in PATTERN matches any run of characters as in the
permission patterns (spec §10.2) and TTL is seconds, optionally with a unit (`90`, `90s`, `15m`, `2h`, `1d`).
The first matching rule wins; `--history-size`/`--history-ttl` apply to every other topic (size 0 = none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["HistoryPolicy", "TopicPolicies", "parse_duration", "parse_history_rule"]

#: Topics whose decision is cached; cleared when full, so a client cycling topics cannot grow it.
_CACHE_SIZE = 4096
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class HistoryPolicy:
    """How much history one topic keeps: at most `size` publications, each for at most `ttl` seconds."""

    size: int
    ttl: float


def parse_duration(text: str) -> float:
    """Seconds of `90`, `90s`, `1.5m`, `2h` or `1d`; raises ValueError."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(f"TTL must be seconds or a number with s, m, h or d, got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_history_rule(text: str, default_ttl: float) -> tuple[str, HistoryPolicy]:
    """`PATTERN=SIZE[,TTL]` as (pattern, policy); the TTL defaults to `default_ttl`. Raises ValueError."""
    pattern, sep, rest = text.rpartition("=")
    if not sep or not pattern.strip():
        raise ValueError(f"must be PATTERN=SIZE,TTL, got {text!r}")
    size_text, _, ttl_text = rest.partition(",")
    try:
        size = int(size_text.strip())
    except ValueError:
        raise ValueError(f"SIZE must be a whole number in {text!r}") from None
    ttl = parse_duration(ttl_text) if ttl_text.strip() else default_ttl
    if size < 0 or ttl <= 0:
        raise ValueError(f"SIZE must be 0 or more and TTL more than 0 in {text!r}")
    return pattern.strip(), HistoryPolicy(size, ttl)


class TopicPolicies:
    """The history policy of every topic: the first matching rule, else the default (None = no history)."""

    __slots__ = ("_cache", "_rules", "default")

    def __init__(self, rules: Iterable[tuple[str, HistoryPolicy]] = (), default: HistoryPolicy | None = None):
        # `*` is the only wildcard, as in permissions (spec §10.2): everything else is literal.
        self._rules = tuple(
            (re.compile(re.escape(pattern).replace(r"\*", ".*"), re.DOTALL), policy) for pattern, policy in rules
        )
        self.default = default if default is not None and default.size > 0 else None
        self._cache: dict[str, HistoryPolicy | None] = {}

    @property
    def enabled(self) -> bool:
        """Whether any topic can have history."""
        return self.default is not None or any(policy.size > 0 for _, policy in self._rules)

    def policy(self, topic: str) -> HistoryPolicy | None:
        """The policy of `topic`, None when it keeps no history. Cached: this runs on every publication."""
        cache = self._cache
        try:
            return cache[topic]
        except KeyError:
            pass
        found = self.default
        for regex, policy in self._rules:
            if regex.fullmatch(topic) is not None:
                found = policy if policy.size > 0 else None
                break
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[topic] = found
        return found
