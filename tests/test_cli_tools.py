"""`ksps pub`, `sub`, `version` and `bench` as a user runs them: real subprocesses against a real server.

No sleeps: `ksps sub` says `subscribed to ...` on stderr once its subscriptions are confirmed, and the tests
wait for that line (and for exits) with timeouts in multiples of UNIT.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from ksps import Server, __version__
from ksps.commands import _loadgen
from ksps.commands._loadgen import PER_PUBLISHER_RATE, BenchPlan, BenchStats
from ksps.protocol.actions import DIRECT_TOPIC_PREFIX
from ksps.testing import RestartableServer, free_port, serve_for_tests

from .server.tokens import SECRET, hs256
from .server.wire import UNIT

KSPS = (sys.executable, "-m", "ksps")


async def run(*args: str, env: dict[str, str] | None = None, timeout: float = 20.0) -> tuple[int, str, str]:
    """Run `ksps ARGS` to its end: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *KSPS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout * UNIT)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Sub:
    """A running `ksps sub`, started and waited for until its subscriptions are confirmed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.status = ""

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] | None = None) -> Sub:
        proc = await asyncio.create_subprocess_exec(
            *KSPS, "sub", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        sub = cls(proc)
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), 10 * UNIT)).decode()
        sub.status = line
        assert "subscribed to" in line, f"ksps sub did not subscribe: {line!r}"
        return sub

    async def lines(self) -> list[dict[str, Any]]:
        """Wait for the exit (code 0) and return the JSON lines it printed."""
        out, err = await asyncio.wait_for(self.proc.communicate(), 10 * UNIT)
        assert self.proc.returncode == 0, err.decode()
        return [json.loads(line) for line in out.decode().splitlines()]

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve_for_tests() as started:
        yield started


def url_of(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/bus"


async def test_pub_reaches_sub_as_json_lines_and_sub_exits_after_count(server: Server) -> None:
    sub = await Sub.start("alerts", "news", "--count", "2", "--url", url_of(server))
    try:
        address = f"127.0.0.1:{server.port}"
        assert await run("pub", "alerts", '{"level": 3}', "--address", address, "--id", "pager") == (0, "", "")
        assert (await run("pub", "news", "hello world", "--address", address, "--id", "pager"))[0] == 0
        assert await sub.lines() == [
            {"topic": "alerts", "from": "pager", "data": {"level": 3}},
            {"topic": "news", "from": "pager", "data": "hello world"},  # not JSON: sent as a string
        ]
    finally:
        sub.kill()


async def test_pub_with_ack_prints_each_subscribers_response(server: Server) -> None:
    sub = await Sub.start("jobs", "--count", "2", "--url", url_of(server), "--id", "worker-1")
    try:
        code, out, err = await run("pub", "jobs", "42", "--ack", "--timeout", "5", "--url", url_of(server))
        assert code == 0, err
        [response] = [json.loads(line) for line in out.splitlines()]
        assert response["client_id"] == "worker-1" and response["success"] is True
        assert (await run("pub", "jobs", '"42"', "--url", url_of(server)))[0] == 0
        assert [line["data"] for line in await sub.lines()] == [42, "42"]
    finally:
        sub.kill()


async def test_pub_with_ack_and_nobody_listening_says_so(server: Server) -> None:
    code, out, err = await run("pub", "void", "x", "--ack", "--timeout", "0.2", "--url", url_of(server))
    assert (code, out) == (0, "")
    assert "no subscriber acknowledged within 0.2 s" in err


async def test_sub_stops_cleanly_on_sigterm_and_sigint(server: Server) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        sub = await Sub.start("t", "--url", url_of(server))
        try:
            sub.proc.send_signal(sig)
            out, err = await asyncio.wait_for(sub.proc.communicate(), 10 * UNIT)
            assert sub.proc.returncode == 0, err.decode()
            assert out == b"" and b"Traceback" not in err
        finally:
            sub.kill()


async def test_sub_resubscribes_after_a_server_restart() -> None:
    server = await RestartableServer().start()
    sub = await Sub.start("t", "--count", "1", "--address", server.address)
    try:
        await server.stop()
        assert sub.proc.stderr is not None
        line = await asyncio.wait_for(sub.proc.stderr.readline(), 10 * UNIT)
        assert b"connection lost" in line and b"reconnecting" in line
        await server.start()
        line = await asyncio.wait_for(sub.proc.stderr.readline(), 30 * UNIT)
        assert line.startswith(b"ksps sub: reconnected, subscribed to t")
        assert (await run("pub", "t", "back", "--address", server.address))[0] == 0
        assert [line["data"] for line in await sub.lines()] == ["back"]
    finally:
        sub.kill()
        await server.stop()


async def test_sub_replaced_by_another_connection_exits_1_and_says_why(server: Server) -> None:
    first = await Sub.start("t", "--id", "dup", "--url", url_of(server))
    second = await Sub.start("t", "--id", "dup", "--count", "1", "--url", url_of(server))
    try:
        _, err = await asyncio.wait_for(first.proc.communicate(), 10 * UNIT)
        assert first.proc.returncode == 1
        assert b"connection lost (4001 replaced by a newer connection)\n" in err
        assert err.rstrip().endswith(b"the connection was closed for good: client 'dup' replaced by a newer "
                                     b"connection; closed"), err
        assert (await run("pub", "t", "still here", "--url", url_of(server)))[0] == 0
        assert [line["data"] for line in await second.lines()] == ["still here"]  # the newer one kept working
    finally:
        first.kill()
        second.kill()


async def test_unreachable_server_is_one_line_and_exit_code_3() -> None:
    port = free_port()  # nothing listens there
    for command in (("pub", "t", "x"), ("sub", "t"), ("bench", "--duration", "1")):
        code, out, err = await run(*command, "--address", f"127.0.0.1:{port}")
        assert code == 3 and out == "", (command, err)
        last = err.splitlines()[-1]  # bench announces its plan first
        assert last.startswith(f"ksps {command[0]}: cannot connect to ws://127.0.0.1:{port}/ws/bus"), err
        assert "Traceback" not in err


async def test_wrong_path_and_bad_urls_are_clear_errors(server: Server) -> None:
    code, _, err = await run("pub", "t", "x", "--url", f"ws://127.0.0.1:{server.port}/nope")
    assert code == 3 and "404" in err
    code, _, err = await run("sub", "t", "--url", "http://127.0.0.1:1/")
    assert code == 2 and "--url must look like ws://" in err
    code, _, err = await run("pub", "t", "x", "--path", "ws")
    assert code == 2 and "--path must start with '/'" in err


async def test_bad_numbers_are_usage_errors_without_traceback() -> None:
    for command in (
        ("pub", "t", "x", "--ack", "--timeout", "nan"),
        ("pub", "t", "x", "--ack", "--timeout", "-1"),
        ("sub", "t", "--count", "-1"),
        ("bench", "--rate", "inf"),
        ("bench", "--duration", "0"),
        ("bench", "--subscribers", "0"),
        ("bench", "--size", "-5"),
    ):
        code, out, err = await run(*command, "--address", "127.0.0.1:1")
        assert (code, out) == (2, ""), (command, err)
        assert err.startswith(f"ksps {command[0]}: --") and err.count("\n") == 1, err


async def test_reserved_topic_is_a_usage_error(server: Server) -> None:
    topic = DIRECT_TOPIC_PREFIX + "x"  # reserved for direct messages (spec §4.4)
    for command in (("pub", topic, "1"), ("sub", topic)):
        code, _, err = await run(*command, "--url", url_of(server))
        assert code == 2 and err.startswith(f"ksps {command[0]}: ") and "reserved" in err, err


async def test_jwt_server_with_token_option_and_environment() -> None:
    async with serve_for_tests(jwt_secret=SECRET) as server:
        env = dict(os.environ, KSPS_TOKEN=hs256("alice"))
        sub = await Sub.start("secured", "--count", "1", "--url", url_of(server), env=env)
        try:
            assert "as alice" in sub.status  # the ID is the token's sub (spec §10)
            code, _, err = await run("pub", "secured", "hi", "--url", url_of(server), "--token", hs256("bob"))
            assert code == 0, err
            assert await sub.lines() == [{"topic": "secured", "from": "bob", "data": "hi"}]
        finally:
            sub.kill()
        code, out, err = await run("pub", "secured", "hi", "--url", url_of(server), "--token", "not-a-jwt")
        assert code == 4 and out == ""
        assert err.startswith("ksps pub: ") and "refused the credentials" in err and err.count("\n") == 1
        code, _, err = await run("sub", "secured", "--url", url_of(server))  # anonymous: refused
        assert code == 4 and "refused the credentials" in err
        code, _, err = await run("bench", "--subscribers", "2", "--duration", "1", "--url", url_of(server))
        assert code == 4 and "4003 unauthorized: token required (0 of 2 bench-sub connections opened)" in err, err
        # Refusals of what the token does not allow (spec §10.4): exit code 1 and the server's text.
        narrow = hs256("carol", subscribe=["mine"], publish=["mine"], ack=True)
        code, _, err = await run("pub", "secured", "x", "--ack", "--url", url_of(server), "--token", narrow)
        assert code == 1 and err.startswith("ksps pub: forbidden: publish_with_ack to secured"), err
        code, _, err = await run("sub", "mine", "secured", "--url", url_of(server), "--token", narrow)
        assert code == 1 and err.startswith("ksps sub: forbidden: subscribe to secured"), err


async def test_tls_with_cafile_and_an_untrusted_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    pem = str(tmp_path / "server.pem")
    async with serve_for_tests(tls_cert=pem, tls_key=pem) as server:
        url = f"wss://127.0.0.1:{server.port}/ws/bus"
        sub = await Sub.start("s", "--count", "1", "--url", url, "--cafile", str(tmp_path / "ca.pem"))
        try:
            address = f"127.0.0.1:{server.port}"
            code, _, err = await run(
                "pub", "s", "1", "--address", address, "--cafile", str(tmp_path / "ca.pem"), "--id", "tls-pub"
            )
            assert code == 0, err
            assert await sub.lines() == [{"topic": "s", "from": "tls-pub", "data": 1}]
            code, out, err = await run(
                "bench", "--subscribers", "2", "--rate", "50", "--duration", "0.3", "--warmup", "0", "--json",
                "--address", address, "--cafile", str(tmp_path / "ca.pem"),
            )
            assert code == 0 and json.loads(out)["deliveries_per_second"] > 0, err
        finally:
            sub.kill()
        code, _, err = await run("pub", "s", "1", "--address", f"127.0.0.1:{server.port}", "--secure")
        assert code == 3 and "CERTIFICATE_VERIFY_FAILED" in err


async def test_version_names_the_package_python_and_libraries() -> None:
    from importlib import metadata

    code, out, _ = await run("version")
    assert code == 0
    assert re.search(rf"^ksps\s+{re.escape(__version__)}$", out, re.M)
    assert re.search(rf"^python\s+{sys.version_info.major}\.{sys.version_info.minor}\.", out, re.M)
    for name in ("picows", "msgspec"):
        assert re.search(rf"^{name}\s+{re.escape(metadata.version(name))}$", out, re.M)
    code, out, _ = await run("version", "--json")
    assert json.loads(out)["ksps"] == __version__
    assert await run("--version") == (0, f"ksps {__version__}\n", "")


async def test_help_lists_every_command() -> None:
    code, out, _ = await run("--help")
    assert code == 0
    for command in ("serve", "pub", "sub", "bench", "version"):
        assert command in out
    for command in ("pub", "sub", "bench"):
        code, out, _ = await run(command, "--help")
        assert code == 0 and "--url" in out and "--cafile" in out


async def test_bench_prints_a_plain_summary_with_figures(server: Server) -> None:
    code, out, err = await run(
        "bench", "--url", url_of(server), "--subscribers", "5", "--rate", "200", "--duration", "1",
        "--warmup", "0.2", "--size", "64", timeout=30,
    )
    assert code == 0, err
    figures = dict(re.findall(r"^(\S.*?)\s{2,}(\S.*)$", out, re.M))
    assert "\x1b[" not in out  # not a terminal: no colours, no progress bar
    assert figures["subscribers"] == "5" and figures["publishers"] == "1"
    assert float(figures["deliveries/s"].replace(",", "")) > 0
    for name in ("latency p50", "latency p99", "latency max"):
        assert re.fullmatch(r"\d+\.\d\d ms", figures[name]), figures
    assert figures["lost"] == "0" and figures["errors"] == "0"



async def test_bench_json_summary(server: Server) -> None:
    code, out, err = await run(
        "bench", "--url", url_of(server), "--subscribers", "2", "--rate", "100", "--duration", "0.5",
        "--warmup", "0", "--json", timeout=30,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["subscribers"] == 2 and summary["deliveries_per_second"] > 0
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"] <= summary["latency_ms"]["max"]
    assert (summary["lost"], summary["errors"]) == (0, 0)


def test_bench_keeps_each_publisher_under_the_default_frame_limit() -> None:
    # The server's default limit is 20,000 frames/s per connection (ksps serve --max-frames-per-second).
    assert PER_PUBLISHER_RATE < 20_000
    plan = BenchPlan(subscribers=1, duration=1, size=0, rate=25_000, warmup=0, topic="t")
    assert plan.publishers == 3 and plan.rate / plan.publishers <= PER_PUBLISHER_RATE


async def test_bench_on_a_terminal_draws_with_rich(server: Server) -> None:
    primary, secondary = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        *KSPS, "bench", "--url", url_of(server), "--subscribers", "3", "--rate", "100", "--duration", "0.5",
        "--warmup", "0", stdout=secondary, stderr=asyncio.subprocess.PIPE, env=dict(os.environ, COLUMNS="100"),
    )
    os.close(secondary)

    def read_all() -> bytes:
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        screen = (await asyncio.wait_for(asyncio.to_thread(read_all), 30 * UNIT)).decode()
        assert await asyncio.wait_for(proc.wait(), 10 * UNIT) == 0
    finally:
        os.close(primary)
        if proc.returncode is None:
            proc.kill()
    assert "━" in screen  # the progress bar
    assert re.search(r"│ deliveries/s\s+│\s+[\d,]+ │", screen), screen  # the table


def test_bench_keeps_a_bounded_uniform_sample_and_the_exact_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_loadgen, "MAX_SAMPLES", 100)
    stats = BenchStats(BenchPlan(subscribers=1, duration=1, size=0, rate=1, warmup=0, topic="t"))
    for latency in range(1, 10_001):
        stats.measured_received += 1
        stats.sample(latency * 1000)
    stats.latencies_ns.sort()
    assert len(stats.latencies_ns) == 100
    assert stats.percentile_ms(1.0) == 10.0  # the maximum is exact
    assert 2.0 < stats.percentile_ms(0.5) < 8.0  # the median of a uniform sample of 1..10 ms
