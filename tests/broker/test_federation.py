"""Relay addresses, origins and inbound checks of server-to-server forwarding (spec §8, §9.9, §9.10)."""

from __future__ import annotations

import pytest

from ksps.broker import FederationConfig, RelayTarget, parse_relay_address


@pytest.mark.parametrize(
    ("address", "target"),
    [
        # host:port
        ("example.com:9313", RelayTarget("example.com:9313", "/ws/bus", "")),
        ("127.0.0.1:8080", RelayTarget("127.0.0.1:8080", "/ws/bus", "")),
        # host:port/path
        ("example.com:8080/custom/bus", RelayTarget("example.com:8080", "/custom/bus", "")),
        ("example.com:80/ws/bus", RelayTarget("example.com:80", "/ws/bus", "")),
        # public[:port]/path::internal:port
        ("public.example.com/ws/bus::10.0.0.5:9313", RelayTarget("public.example.com", "/ws/bus", "10.0.0.5:9313")),
        ("public.example.com:443/ps::10.0.0.5:8080", RelayTarget("public.example.com:443", "/ps", "10.0.0.5:8080")),
        # public[:port]::internal:port/path (the original failed on this one)
        ("public.example.com::10.0.0.5:9313/ws/bus", RelayTarget("public.example.com", "/ws/bus", "10.0.0.5:9313")),
        ("public.example.com:8443::internal:80/x", RelayTarget("public.example.com:8443", "/x", "internal:80")),
        # IPv6 and a query string survive
        ("[::1]:9313/ws/bus", RelayTarget("[::1]:9313", "/ws/bus", "")),
        ("[::1]:9313::[fd00::5]:9313/p", RelayTarget("[::1]:9313", "/p", "[fd00::5]:9313")),
        ("h:1/ws/bus?token=a", RelayTarget("h:1", "/ws/bus?token=a", "")),
    ],
)
def test_parse_relay_address(address: str, target: RelayTarget) -> None:
    assert parse_relay_address(address) == target


def test_ports_with_80_and_443_are_kept() -> None:
    """The original removed `:80` and `:443` as substrings: `:8080` became `80` (spec §9.10)."""
    for port in ("80", "443", "8080", "8043", "4430", "18080"):
        assert parse_relay_address(f"h:{port}/ws/bus").hostport == f"h:{port}"
        assert parse_relay_address(f"p::h:{port}").proxy == f"h:{port}"


def test_default_path_is_configurable() -> None:
    assert parse_relay_address("h:1", default_path="/bus").path == "/bus"


@pytest.mark.parametrize("address", ["", "::internal:1", "/ws/bus"])
def test_address_without_host_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="no host"):
        parse_relay_address(address)


def test_relay_target_host() -> None:
    assert parse_relay_address("example.com:9313").host == "example.com"
    assert parse_relay_address("[::1]:9313").host == "::1"


def test_origin() -> None:
    plain = FederationConfig(address="127.0.0.1:8080", path="/ws/bus")
    assert plain.origin("") == "ws://127.0.0.1:8080/ws/bus"
    assert plain.origin("client-1") == "client-1---ws://127.0.0.1:8080/ws/bus"
    secure = FederationConfig(address="bus.example.com:443", path="/p", secure=True)
    assert secure.origin("c") == "c---wss://bus.example.com:443/p"


def test_is_for_me() -> None:
    config = FederationConfig(address="10.0.0.5:9313", path="/ws/bus", aliases=("bus.example.com:443",))
    for to in ("10.0.0.5:9313", "10.0.0.5", "bus.example.com:443", "bus.example.com"):
        assert config.is_for_me(to, "")
        assert config.is_for_me("somewhere-else:1", to), "the proxy/internal name counts too"
    for to in ("10.0.0.5:9314", "10.0.0.6:9313", "example.com", ""):
        assert not config.is_for_me(to, "")
    assert not config.is_for_me("", "")


@pytest.mark.parametrize(
    ("configured", "given", "loopback", "allowed"),
    [
        ("", "", True, True),  # no secret: loopback peers only
        ("", "anything", True, True),
        ("", "", False, False),
        ("", "anything", False, False),
        ("s3cret", "s3cret", False, True),  # a secret: it must match, from anywhere
        ("s3cret", "s3cret", True, True),
        ("s3cret", "", True, False),
        ("s3cret", "wrong", True, False),
        ("s3cret", "s3cre", False, False),
        ("s3cret", "s3cret ", False, False),
    ],
)
def test_authenticates(configured: str, given: str, loopback: bool, allowed: bool) -> None:
    config = FederationConfig(address="h:1", path="/ws/bus", secret=configured)
    assert config.authenticates(given, loopback) is allowed
