"""Issue 11 row 3: JSON nested deeper than the decoder can recurse is invalid JSON: an `error` frame, and the
connection stays open (spec §9.7, §13.1)."""

from __future__ import annotations

import pytest

from tests.server.wire import WireClient

from .transport_support import bystander_running, serving

DEEP = "[" * 2000 + "]" * 2000


@pytest.mark.parametrize(
    "text",
    [
        '{"action":"ping","zz":' + DEEP + "}",
        '{"action":"publish","topic":"t","data":' + DEEP + "}",
        '{"action":"publish","topic":"t","data":' + "{" + '"a":{' * 3000 + "}" * 3001 + "}",
    ],
    ids=["unknown member", "data", "objects in data"],
)
async def test_deep_nesting_is_an_invalid_json_error_and_the_connection_stays(text: str) -> None:
    async with serving() as server, bystander_running(server):
        client = await WireClient.open(server.url)
        await client.register("deep")
        for _ in range(3):  # every such frame, not only the first
            await client.send(text)
            await client.expect_error("invalid JSON: nesting too deep")
        assert await client.sync() == []
        await client.close()
