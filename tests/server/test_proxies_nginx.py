"""Through a real nginx, configured with the recipe of docs/security.md (issue 10, reproduction #1; spec §12.3).

nginx comes from Debian's `nginx-light`; the test starts it with a generated configuration in a temporary
directory, on a free loopback port, in front of an in-process ksps server. The `server` block is the one in
docs/security.md, with the port, certificate and upstream replaced, so the documented recipe is what runs.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from ksps import Server
from ksps.server.server import core_of
from ksps.testing import free_port

from .conftest import StartServer
from .test_peers import FORGED
from .wire import WireClient, units

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx-light)")

#: The public name of the recipe; the test connects to nginx on 127.0.0.1 with this name in Host and SNI.
NAME = "bus.example.com"


def recipe() -> str:
    """The nginx configuration block of docs/security.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", (ROOT / "docs" / "security.md").read_text(), re.S)
    assert len(blocks) == 1, "docs/security.md should hold exactly one nginx block"
    return blocks[0]


@dataclass
class Nginx:
    port: int
    context: ssl.SSLContext

    async def connect(self, client_id: str, *, source: str = "127.0.0.1", **options: Any) -> WireClient:
        """A registered client through nginx, as a browser on `NAME` would be, from loopback address `source`."""
        client = await WireClient.open(
            f"wss://{NAME}:{self.port}/ws/bus",
            ssl=self.context,
            host="127.0.0.1",
            port=self.port,
            local_addr=(source, 0),
            **options,
        )
        await client.register(client_id)
        return client


StartNginx = Callable[[Server], Awaitable[Nginx]]


@pytest.fixture
async def start_nginx(tmp_path: Path) -> AsyncIterator[StartNginx]:
    processes: list[asyncio.subprocess.Process] = []
    ca = trustme.CA()
    ca.issue_cert(NAME).private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "cert.pem"))
    context = ssl.create_default_context()
    ca.configure_trust(context)

    async def start(upstream: Server) -> Nginx:
        port = free_port()
        site = (
            recipe()
            .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
            .replace("/etc/ssl/bus.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
            .replace("/etc/ssl/bus.example.com/privkey.pem", str(tmp_path / "cert.pem"))
            .replace("127.0.0.1:9313", f"127.0.0.1:{upstream.port}")
        )
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = " ".join(f"{kind}_temp_path {tmp_path / kind};" for kind in kinds)
        (tmp_path / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\n"
            f"error_log {tmp_path / 'error.log'} warn;\n"
            f"events {{ worker_connections 256; }}\nhttp {{\naccess_log off;\n{temp}\n{site}\n}}\n"
        )
        assert NGINX is not None
        process = await asyncio.create_subprocess_exec(
            NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")
        )
        processes.append(process)
        await _listening(port, process, tmp_path / "error.log")
        return Nginx(port, context)

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), units(5))


async def _listening(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    """Wait until nginx accepts connections on `port` (it says nothing when ready)."""
    async with asyncio.timeout(units(10)):
        while True:
            assert process.returncode is None, f"nginx exited; see {log}"
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)  # not yet bound: nginx has no readiness signal to wait on
                continue
            writer.close()
            return


def recipe_options(**extra: Any) -> dict[str, Any]:
    """The ksps options of the recipe (docs/security.md)."""
    return {"allowed_hosts": (NAME,), "trusted_proxies": ("127.0.0.1",), **extra}


async def test_repro1_forged_server_to_server_through_nginx_is_refused(
    start_server: StartServer, start_nginx: StartNginx
) -> None:
    server = await start_server(**recipe_options())
    nginx = await start_nginx(server)
    watcher = await nginx.connect("watcher")
    await watcher.subscribe("news")
    attacker = await WireClient.open(
        f"wss://{NAME}:{nginx.port}/ws/bus", ssl=nginx.context, host="127.0.0.1", port=nginx.port
    )
    await attacker.send(FORGED)
    await attacker.expect_error("server-to-server not allowed")
    assert await watcher.sync() == []
    publisher = await nginx.connect("publisher")
    await publisher.publish("news", "real")
    assert (await watcher.expect("publish"))["data"] == {"data": "real", "from": "publisher"}


async def client_address(server: Server, client_id: str) -> str:
    [connection] = [c for c in core_of(server).connections if c.client_id == client_id]
    return connection.client_address


async def test_x_forwarded_for_from_nginx_is_believed_only_with_trusted_proxies(
    start_server: StartServer, start_nginx: StartNginx
) -> None:
    spoof = {"additional_headers": {"X-Forwarded-For": "198.51.100.66"}}
    trusting = await start_server(**recipe_options())
    nginx = await start_nginx(trusting)
    # From 127.0.0.2: nginx appends it to the client's (spoofed) header; the server takes the right-most
    # address that is not a trusted proxy, which is what nginx saw.
    await nginx.connect("c1", source="127.0.0.2", **spoof)
    assert await client_address(trusting, "c1") == "127.0.0.2"

    untrusting = await start_server(**recipe_options(trusted_proxies=()))
    nginx2 = await start_nginx(untrusting)
    await nginx2.connect("c2", source="127.0.0.2", **spoof)
    assert await client_address(untrusting, "c2") == "127.0.0.1"  # nginx's own socket: headers ignored


async def test_a_host_nginx_passes_must_be_allowed(start_server: StartServer, start_nginx: StartNginx) -> None:
    server = await start_server(trusted_proxies=("127.0.0.1",))  # no --allowed-hosts: loopback names only
    nginx = await start_nginx(server)
    with pytest.raises(Exception, match="403"):
        await nginx.connect("refused")
