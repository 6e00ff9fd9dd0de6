"""The admin page of a clustered node lists the other nodes (docs/observability.md "Admin page")."""

from __future__ import annotations

import json

from ksps.server.server import core_of
from tests.server.http_pages import http_get

from .conftest import StartNode, sees
from .wire import unique

TOKEN = "admin-token-for-the-cluster-test"


async def test_admin_state_lists_the_cluster_nodes(start_node: StartNode) -> None:
    prefix = unique("admin")
    first = await start_node(prefix, admin_token=TOKEN)
    second = await start_node(prefix)
    await sees(first, second)
    status, _, body = await http_get(first.port, "/admin/api/state", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    state = json.loads(body)
    assert core_of(second).cluster is not None
    nodes = {node["node"]: node for node in state["cluster"]}
    assert core_of(second).cluster.node_id in nodes
    assert nodes[core_of(second).cluster.node_id]["seen"] >= 0
