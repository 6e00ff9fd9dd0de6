"""`ksps serve --config` and `ksps config`: defaults < config file < environment < command line; the banner
comes once the socket listens and names the real URL (docs/configuration.md)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import trustme
import websockets

from ksps import ServerConfig, settings
from ksps.errors import ConfigError
from ksps.settings import OPTIONS, ProcessConfig
from ksps.testing import free_port

from .cluster.processes import RedisProcess

UNIT = float(os.environ.get("KSPS_TEST_TIMEOUT_UNIT", "1.0"))
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KSPS_") or k == "KSPS_TEST_TIMEOUT_UNIT"}


def ksps(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ksps", *args], capture_output=True, text=True, timeout=30 * UNIT,
        env=CLEAN_ENV | (env or {}),
    )  # fmt: skip


def test_precedence_defaults_file_environment_command_line(tmp_path: Path) -> None:
    config = tmp_path / "ksps.toml"
    config.write_text(
        'path = "/file"\nserver_id = "file"\nredis_prefix = "file"\nmax_topic_bytes = 100\n'
        'allowed_origins = ["https://a.example", "https://b.example"]\nrelay_any_address = true\nworkers = 1\n'
    )
    env = {"KSPS_PATH": "/env", "KSPS_SERVER_ID": "env", "KSPS_CONFIG": str(config)}
    proc = ksps("config", "--server-id", "cli", env=env)
    assert proc.returncode == 0, proc.stderr
    effective = tomllib.loads(proc.stdout)
    assert effective["server_id"] == "cli"  # command line over environment over file
    assert effective["path"] == "/env"  # environment over file
    assert effective["redis_prefix"] == "file" and effective["max_topic_bytes"] == 100  # file over defaults
    assert effective["allowed_origins"] == ["https://a.example", "https://b.example"]
    assert effective["relay_any_address"] is True
    assert effective["max_id_bytes"] == 256 and effective["address"] == "localhost:9313"  # defaults
    # --config on the command line wins over KSPS_CONFIG too.
    other = tmp_path / "other.toml"
    other.write_text('redis_prefix = "other"\n')
    assert tomllib.loads(ksps("config", "--config", str(other), env=env).stdout)["redis_prefix"] == "other"


def test_config_prints_every_setting_parses_back_and_masks_secrets(tmp_path: Path) -> None:
    proc = ksps("config", "--peer-secret", "hunter2", env={"KSPS_JWT_SECRET": "s3cret-key"})
    assert proc.returncode == 0, proc.stderr
    effective = tomllib.loads(proc.stdout)
    assert set(effective) == {option.key for option in OPTIONS}
    assert effective["peer_secret"] == effective["jwt_secret"] == "***"
    assert "hunter2" not in proc.stdout and "s3cret-key" not in proc.stdout
    assert effective["log_level"] == "info" and effective["workers"] == 1
    assert "# largest accepted frame in bytes" in proc.stdout  # each key with its help and default
    # The printed file is a valid config file: read back, it gives the same output.
    plain = ksps("config").stdout
    saved = tmp_path / "saved.toml"
    saved.write_text(plain)
    assert ksps("config", "--config", str(saved)).stdout == plain


def test_unknown_key_in_the_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "ksps.toml"
    config.write_text('address = "127.0.0.1:0"\nmax_mesage_size = 10\n')
    proc = ksps("serve", "--config", str(config))
    assert proc.returncode == 2
    assert f"unknown key 'max_mesage_size' in {config} (did you mean 'max_message_size'?)" in proc.stderr
    assert "serving on" not in proc.stderr


def test_wrong_type_or_syntax_in_the_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "ksps.toml"
    config.write_text('address = "127.0.0.1:0"\nmax_message_size = "big"\n')
    proc = ksps("serve", "--config", str(config))
    assert proc.returncode == 2
    assert f"--max-message-size (KSPS_MAX_MESSAGE_SIZE) in {config}: must be a whole number" in proc.stderr
    config.write_text('path = "/ws\n')
    proc = ksps("config", "--config", str(config))
    assert proc.returncode == 2 and "is not valid TOML" in proc.stderr
    config.write_text('path = "ws"\n')  # a value from the file is checked like any other, and says where it was
    proc = ksps("config", "--config", str(config))
    assert proc.returncode == 2 and f"--path (KSPS_PATH) in {config}: must start with /" in proc.stderr


async def read_until(stream: asyncio.StreamReader, pattern: str, lines: list[str]) -> re.Match[str]:
    """Read lines (each within a timeout) until one matches; every line read is kept in `lines`."""
    while True:
        line = (await asyncio.wait_for(stream.readline(), 15 * UNIT)).decode()
        assert line, f"ksps exited before printing {pattern!r}: {lines}"
        lines.append(line)
        if match := re.search(pattern, line):
            return match


async def start(*args: str) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ksps", "serve", *args, env=CLEAN_ENV, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    return proc, proc.stderr


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> int:
    if proc.returncode is None:
        proc.send_signal(sig)
    return await asyncio.wait_for(proc.wait(), 15 * UNIT)


async def test_banner_after_bind_names_the_real_port(tmp_path: Path) -> None:
    config = tmp_path / "ksps.toml"
    config.write_text('path = "/fromfile"\nlog_level = "info"\n')
    proc, stderr = await start("--address", "127.0.0.1:0", "--config", str(config))
    lines: list[str] = []
    try:
        banner = await read_until(stderr, r"serving on (ws://127\.0\.0\.1:(\d+)/fromfile) \(Ctrl\+C to stop\)", lines)
        assert int(banner.group(2)) != 0
        assert any("listening on" in line for line in lines[:-1])  # logged by start(), once bound
        async with websockets.connect(banner.group(1)) as ws:
            await ws.send(json.dumps({"action": "ping", "from": "A"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "A"}
    finally:
        assert await stop(proc, signal.SIGINT) == 0  # Ctrl+C is a clean stop too


async def test_banner_of_a_tls_server_says_wss(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    proc, stderr = await start(
        "--address", "127.0.0.1:0", "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")
    )
    try:
        banner = await read_until(stderr, r"serving on (wss://127\.0\.0\.1:\d+/ws/bus) ", [])
        context = ssl.create_default_context()
        ca.configure_trust(context)
        async with websockets.connect(banner.group(1), ssl=context) as ws:
            await ws.send(json.dumps({"action": "ping", "from": "T"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "T"}
    finally:
        assert await stop(proc) == 0


async def test_banner_names_every_address_bound() -> None:
    proc, stderr = await start("--address", "localhost:0")  # 127.0.0.1 and, where IPv6 is up, [::1]
    try:
        banner = await read_until(stderr, r"serving on (.*) \(Ctrl\+C to stop\)", [])
        urls = banner.group(1).split(", ")
        resolved = await asyncio.get_running_loop().getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
        addresses = {info[4][0] for info in resolved}
        assert len(urls) == len(addresses) and all(re.fullmatch(r"ws://\S+:\d+/ws/bus", url) for url in urls)
        # With port 0 each address gets its own port; the Host check admits the first socket's (hosts.py).
        async with websockets.connect(urls[0]) as ws:
            await ws.send(json.dumps({"action": "ping", "from": "L"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "L"}
    finally:
        assert await stop(proc) == 0


async def test_workers_banner_once_every_worker_listens() -> None:
    redis = RedisProcess().start_on_a_free_port()
    port = free_port()
    proc, stderr = await start(
        "--address", f"127.0.0.1:{port}", "--workers", "2", "--redis", redis.url(), "--redis-prefix",
        f"banner-{port}", "--log-level", "info",
    )  # fmt: skip
    lines: list[str] = []
    try:
        banner = await read_until(stderr, r"serving on (ws://127\.0\.0\.1:(\d+)/ws/bus) ", lines)
        assert int(banner.group(2)) == port
        assert sum("listening on" in line for line in lines) == 2  # both workers, before the banner
        async with websockets.connect(banner.group(1)) as ws:
            await ws.send(json.dumps({"action": "ping", "from": "W"}))
            assert json.loads(await ws.recv()) == {"action": "pong", "id": "W"}
    finally:
        try:
            assert await stop(proc) == 0
        finally:
            redis.stop()


@pytest.mark.parametrize("redis", [False, True], ids=["one-process", "workers"])
async def test_port_in_use_exits_3_without_a_banner(redis: bool) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        extra = ["--workers", "2", "--redis", "redis://127.0.0.1:1/0"] if redis else []
        proc = await asyncio.to_thread(ksps, "serve", "--address", f"127.0.0.1:{port}", *extra)
    assert proc.returncode == 3, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "serving on" not in proc.stderr


def test_docs_configuration_lists_every_option() -> None:
    page = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    for option in OPTIONS:
        assert f"| `{option.flag}` | `{option.env}` | `{option.key}` |" in page, option.flag


def test_help_and_defaults_come_from_the_fields() -> None:
    help_text = "".join(ksps("serve", "--help").stdout.split())  # argparse wraps lines, and words at hyphens
    defaults = tomllib.loads(ksps("config").stdout)
    for option in OPTIONS:
        assert "".join(option.help().split()) in help_text, option.flag
        default = getattr(ServerConfig(), option.key, getattr(ProcessConfig(), option.key, None))
        assert defaults[option.key] == (list(default) if isinstance(default, tuple) else default), option.key
    assert "(default:1048576)" in help_text and "(default:10000)" in help_text  # the field defaults
    assert "Exitstatus:0stoppedbySIGINT/SIGTERM" in help_text


# --- history
def test_history_rules_from_flags_environment_and_file(tmp_path: Path) -> None:
    rules = ["chat.*=100,15m", "logs.*=0"]
    # Repeated flags: each rule keeps its comma (spec §14.1).
    flags = {"history": rules, "history_size": "5"}
    assert settings.load("", flags, environ={}).server.history == tuple(rules)
    environ = {"KSPS_HISTORY": "chat.*=100,15m; logs.*=0"}
    assert settings.load("", {}, environ=environ).server.history == tuple(rules)
    config = tmp_path / "ksps.toml"
    config.write_text('history = ["chat.*=100,15m", "logs.*=0"]\nhistory_ttl = 60\n')
    effective = settings.load(str(config), {}, environ={})
    assert effective.server.history == tuple(rules) and effective.server.history_ttl == 60.0
    with pytest.raises(ConfigError) as caught:
        settings.load("", {"history": ["chat.*=many,1m"], "history_ttl": "0"}, environ={})
    text = str(caught.value)
    assert "SIZE must be a whole number in 'chat.*=many,1m'" in text and "--history-ttl" in text


def test_history_flag_repeats_on_the_command_line() -> None:
    proc = ksps("config", "--history", "a.*=10,5m", "--history", "b=3", "--history-size", "7")
    table = tomllib.loads(proc.stdout)
    assert (table["history"], table["history_size"]) == (["a.*=10,5m", "b=3"], 7), proc.stderr
