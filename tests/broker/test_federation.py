"""Relay addresses, origins and inbound checks of server-to-server forwarding (spec §8, §9.9, §9.10)."""

from __future__ import annotations

import pytest

from ksps.broker import FederationConfig, RelayTarget, parse_relay_address
from ksps.broker.federation import dial_key


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
    ("peers", "address", "secure", "allowed"),
    [
        (("peer.example:9313",), "peer.example:9313/ws/bus", False, True),
        (("peer.example:9313",), "PEER.example:9313", False, True),  # host names are case-insensitive
        (("peer.example:9313",), "peer.example:9314", False, False),
        (("peer.example:9313",), "other.example:9313", False, False),
        (("peer.example:9313",), "peer.example:9313::10.0.0.5:9313/ws/bus", False, True),  # the dial target counts
        (("peer.example:9313",), "10.0.0.5:9313::peer.example:9313", False, False),  # not the internal name
        (("peer.example",), "peer.example:80", False, True),  # no port = the scheme's default
        (("peer.example",), "peer.example:443", True, True),
        (("peer.example",), "peer.example:443", False, False),
        (("[::1]:9313",), "[::1]:9313/ws/bus", False, True),
        ((), "127.0.0.1:9313", False, False),  # nothing configured: nothing allowed, loopback included
    ],
)
def test_may_relay_to_only_configured_peers(
    peers: tuple[str, ...], address: str, secure: bool, allowed: bool
) -> None:
    config = FederationConfig(address="h:1", path="/ws/bus", peers=peers)
    assert config.may_relay_to(parse_relay_address(address), secure) is allowed


def test_relay_any_address_allows_everything() -> None:
    config = FederationConfig(address="h:1", path="/ws/bus", relay_any_address=True)
    assert config.may_relay_to(parse_relay_address("anything.example:1"), False)


def test_dial_key() -> None:
    assert dial_key("Example.COM:8080") == ("example.com", 8080)
    assert dial_key("[::1]:9") == ("::1", 9)
    assert dial_key("[::1]") == ("::1", 80)
    assert dial_key("h", secure=True) == ("h", 443)
    assert dial_key("h:port") == ("h", -1)
