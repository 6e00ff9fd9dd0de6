"""`ksps serve` rejects every bad option value before it starts: the flag, the variable, what is allowed, and
an exit status per class of failure (2 bad value, 4 unreadable file); `Server(...)` fails the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksps import ConfigError, Server, ServerConfig

UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))

#: (arguments, the flag the message names, a fragment of what it says is allowed)
BAD_VALUES = [
    (["--address", "127.0.0.1:99999"], "--address", "port from 1 to 65535"),
    (["--metrics-address", "127.0.0.1:70000"], "--metrics-address", "port from 1 to 65535"),
    (["--address", "127.0.0.1"], "--address", "host:port"),
    (["--address", "127.0.0.1:http"], "--address", "host:port"),
    (["--path", "ws"], "--path", "must start with /"),
    (["--path", "/a b"], "--path", "must start with /"),
    (["--server-id", "x" * 300], "--server-id", "max_id_bytes"),
    (["--max-message-size", "-1"], "--max-message-size", "512 or more"),
    (["--max-message-size", "100"], "--max-message-size", "512 or more"),
    (["--max-message-size", "lots"], "--max-message-size", "whole number"),
    (["--max-send-queue", "0"], "--max-send-queue", "1 or more"),
    (["--max-frames-per-second", "-1"], "--max-frames-per-second", "0 or more"),
    (["--max-frames-per-second", "nan"], "--max-frames-per-second", "finite"),
    (["--frame-burst", "0"], "--frame-burst", "1 or more"),
    (["--max-topic-bytes", "0"], "--max-topic-bytes", "1 or more"),
    (["--max-id-bytes", "-3"], "--max-id-bytes", "1 or more"),
    (["--ack-timeout", "0"], "--ack-timeout", "more than 0"),
    (["--max-ack-timeout", "-1"], "--max-ack-timeout", "more than 0"),
    (["--keepalive-interval", "-5"], "--keepalive-interval", "0 or more"),
    (["--keepalive-timeout", "-1"], "--keepalive-timeout", "0 or more"),
    (["--keepalive-timeout", "30"], "--keepalive-timeout", "cannot exceed keepalive_interval"),
    (["--handshake-timeout", "0"], "--handshake-timeout", "more than 0"),
    (["--shutdown-grace", "-1"], "--shutdown-grace", "0 or more"),
    (["--public-addresses", "::9313"], "--public-addresses", "no host"),
    (["--redis", "http://127.0.0.1:6379"], "--redis", "redis://"),
    (["--redis-prefix", ""], "--redis-prefix", "not be empty"),
    (["--cluster-heartbeat", "0"], "--cluster-heartbeat", "more than 0"),
    (["--cluster-node-timeout", "1"], "--cluster-node-timeout", "more than cluster_heartbeat"),
    (["--jwt-leeway", "-1"], "--jwt-leeway", "0 or more"),
    (["--anonymous", "maybe"], "--anonymous", "one of allow, deny"),
    (["--default-permissions", "all"], "--default-permissions", "one of allow, deny"),
    (["--id-takeover", "steal"], "--id-takeover", "one of replace, reject"),
    (["--register-timeout", "-1"], "--register-timeout", "0 or more"),
    (["--peers", "::1"], "--peers", "no host"),
    (["--relay-any-address", "maybe"], "--relay-any-address", "yes/no"),
    (["--max-relays-per-client", "-1"], "--max-relays-per-client", "0 or more"),
    (["--max-relays", "-1"], "--max-relays", "0 or more"),
    (["--relay-timeout", "0"], "--relay-timeout", "more than 0"),
    (["--peer-clock-window", "0"], "--peer-clock-window", "more than 0"),
    (["--trusted-proxies", "10.0.0.0/33"], "--trusted-proxies", "IP address or CIDR"),
    (["--trusted-proxies", "proxy.example"], "--trusted-proxies", "IP address or CIDR"),
    (["--max-control-frames-per-second", "-1"], "--max-control-frames-per-second", "0 or more"),
    (["--max-message-fragments", "0"], "--max-message-fragments", "1 or more"),
    (["--max-output-buffer", "-1"], "--max-output-buffer", "0 or more"),
    (["--max-connections", "-1"], "--max-connections", "0 or more"),
    (["--max-connections-per-address", "-1"], "--max-connections-per-address", "0 or more"),
    (["--max-topics-per-connection", "-1"], "--max-topics-per-connection", "0 or more"),
    (["--max-pending-acks-per-connection", "-1"], "--max-pending-acks-per-connection", "0 or more"),
    (["--max-pending-acks", "-1"], "--max-pending-acks", "0 or more"),
    (["--workers", "0"], "--workers", "1 or more"),
    (["--workers", "2"], "--workers", "needs --redis"),
    (["--workers", "2", "--redis", "redis://127.0.0.1:1/0", "--address", "127.0.0.1:0"], "--workers", "fixed port"),
    (["--log-level", "loud"], "--log-level", "debug, info, warning, error"),
    (["--log-format", "xml"], "--log-format", "logfmt, json"),
    (["--tls-cert", __file__], "--tls-key", "both a certificate"),
]


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ksps serve` that must refuse to start: a server that does start fails the test at the timeout."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KSPS_") or k == "KSPS_TEST_TIMEOUT_UNIT"}
    command = [sys.executable, "-m", "ksps", "serve", "--address", "127.0.0.1:0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30 * UNIT, env=environ | (env or {}))


@pytest.mark.parametrize(("args", "flag", "allowed"), BAD_VALUES, ids=[" ".join(case[0])[:60] for case in BAD_VALUES])
def test_bad_value_is_refused_before_start(args: list[str], flag: str, allowed: str) -> None:
    proc = serve(*args)
    assert proc.returncode == 2, proc.stderr
    env = "KSPS_" + flag[2:].replace("-", "_").upper()
    assert f"ksps serve: {flag} ({env})" in proc.stderr
    assert allowed in proc.stderr
    assert "serving on" not in proc.stderr and "listening" not in proc.stderr


def test_a_bad_environment_variable_is_named_as_such() -> None:
    proc = serve(env={"KSPS_PATH": "ws"})
    assert proc.returncode == 2
    assert "--path (KSPS_PATH) from the environment: must start with /" in proc.stderr


def test_every_problem_is_listed_at_once() -> None:
    proc = serve("--path", "ws", "--keepalive-interval", "-5", "--trusted-proxies", "x", "--max-relays", "many")
    assert proc.returncode == 2
    assert [line.split(":")[1].split()[0] for line in proc.stderr.splitlines()] == [
        "--max-relays", "--keepalive-interval", "--path", "--trusted-proxies",
    ]  # fmt: skip


@pytest.mark.parametrize("flag", ["--tls-cert", "--jwt-public-key", "--jwt-jwks", "--config"])
def test_unreadable_file_is_named_with_exit_status_4(flag: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    extra = ["--tls-key", str(missing)] if flag == "--tls-cert" else []
    proc = serve(flag, str(missing), *extra)
    assert proc.returncode == 4, proc.stderr
    assert f"{flag} (" in proc.stderr and f"cannot read {missing}: No such file or directory" in proc.stderr


def test_a_file_that_is_not_a_certificate_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    proc = serve("--tls-cert", str(junk), "--tls-key", str(junk))
    assert proc.returncode == 4, proc.stderr
    assert f"{junk} and {junk} are not a PEM certificate and its key" in proc.stderr


def test_the_python_api_fails_as_clearly() -> None:
    with pytest.raises(ConfigError) as error:
        Server(address="127.0.0.1:99999", path="ws", max_message_size=-1)
    assert {problem.setting for problem in error.value.problems} == {"address", "path", "max_message_size"}
    assert "path: must start with /" in str(error.value)
    with pytest.raises(ConfigError, match="must be one of allow, deny"):
        Server(ServerConfig(anonymous="sometimes"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must be a whole number"):
        Server(max_connections="10")
    ServerConfig().validate()  # the defaults are valid
