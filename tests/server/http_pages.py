"""A plain HTTP GET over a real socket, for the pages the server answers besides the WebSocket."""

from __future__ import annotations

import asyncio

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from .wire import units


async def http_get(
    port: int,
    path: str,
    *,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """GET `path` from 127.0.0.1:`port` (Host: `host`, or the address itself, and `headers`); (status, headers,
    body). Each step may take `timeout` seconds (default 2 units: our own server answers at once)."""
    timeout = units(2) if timeout is None else timeout
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nAccept: */*\r\n{extra}\r\n"
        writer.write(request.encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        answer = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                answer[name.strip().lower()] = value.strip()
        length = int(answer.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return int(status_line.split()[1]), answer, body
    finally:
        writer.close()


async def scrape(port: int, path: str = "/metrics") -> dict[str, Metric]:
    """Scrape `/metrics` and parse it with prometheus-client's own parser: families by name."""
    status, headers, body = await http_get(port, path)
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def value(families: dict[str, Metric], name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly these labels (0 when absent, as Prometheus reads it)."""
    family_name = name.removesuffix("_total")
    for sample in families[family_name].samples:
        if sample.name == name and sample.labels == labels:
            return sample.value
    return 0.0
