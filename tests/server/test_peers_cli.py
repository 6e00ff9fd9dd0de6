"""`ksps serve` flags of peers, proxies and hosts (spec §12): a yes/no switch and comma-separated lists."""

from __future__ import annotations

import argparse

import pytest

from ksps import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli._serve_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_relay_any_address_is_a_switch() -> None:
    assert cli._switch(parse("--relay-any-address").relay_any_address) is True
    assert cli._switch(parse("--relay-any-address", "no").relay_any_address) is False
    assert parse().relay_any_address is None
    for text in ("1", "true", "YES", "on"):
        assert cli._switch(text) is True
    for text in ("0", "false", "No", "off"):
        assert cli._switch(text) is False
    with pytest.raises(ValueError):
        cli._switch("maybe")


def test_lists() -> None:
    args = parse("--peers", "a:1, b:2", "--trusted-proxies", "10.0.0.0/8", "--allowed-hosts", "bus.example.com")
    assert cli._names(args.peers) == ("a:1", "b:2")
    assert cli._names(args.trusted_proxies) == ("10.0.0.0/8",)
    assert cli._names(args.allowed_hosts) == ("bus.example.com",)
