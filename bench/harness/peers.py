"""Every target against a peer server (Centrifugo): ratios of medians, and what limited each throughput run.

On this 2-core box the load generator and the server share the cores, so a throughput figure is a joint one:
the table says, per run, whether the cores were full and which side used more of them, and puts the server's
CPU per unit of work next to the throughput, which is the fairer comparison between servers.
"""

from __future__ import annotations

from typing import Any

PEER = "centrifugo"

#: Throughput figures and the server-CPU figure shown beside each, by scenario name prefix.
_THROUGHPUT = {
    "fanout-": ("deliveries_per_s", "server_cpu_us_per_delivery"),
    "connrate": ("connections_per_s", "server_cpu_us_per_connection"),
}


_CORES = ("server_cores", "loadgen_cores")


def _median(scenario: dict[str, Any], target: str, key: str) -> float | None:
    figure = scenario["targets"].get(target, {}).get("summary", {}).get(key)
    return None if figure is None else float(figure["median"])


def ratio(scenario: dict[str, Any], target: str, key: str, peer: str = PEER) -> float | None:
    """median(target) / median(peer) for one figure, or None when either is missing."""
    mine, theirs = _median(scenario, target, key), _median(scenario, peer, key)
    if mine is None or not theirs:
        return None
    return mine / theirs


def _others(scenario: dict[str, Any], target: str) -> float:
    """Median cores the rest of the box (other test suites) used during this target's measured phases."""
    others = sorted(
        run["others_cores"] for run in scenario["targets"].get(target, {}).get("runs", []) if "figures" in run
    )
    return others[len(others) // 2] if others else 0.0


def limit(scenario: dict[str, Any], target: str) -> str:
    """What bounded a throughput run, from the medians of the cores the server, the load generator and the
    rest of the box used during it (2 cores in all): when they are full, the busier of the two, the load
    generator included ("even" within 10%), as each core-second it takes is one the server cannot have."""
    server, loadgen = _median(scenario, target, "server_cores"), _median(scenario, target, "loadgen_cores")
    if server is None or loadgen is None:
        return ""
    others = _others(scenario, target)
    cores = f"{server:.2f} + {loadgen:.2f}" + (f" + {others:.2f} others" if others >= 0.05 else "")
    if server + loadgen + others >= 1.8:
        if abs(server - loadgen) <= 0.1 * max(server, loadgen):
            busier = "even: the **load generator** as much as the server"
        else:
            busier = "server" if server > loadgen else "the **load generator**"
        return f"cores full ({cores}); {busier}"
    if server >= 0.9:
        return f"server, a full core ({cores})"
    if loadgen >= 0.9:
        return f"the **load generator** ({cores})"
    return f"no core full ({cores})"


def _throughput_pair(name: str) -> tuple[str, str] | None:
    return next((pair for prefix, pair in _THROUGHPUT.items() if name.startswith(prefix)), None)


def _row(*cells: str | list[str]) -> str:
    flat = [cell for item in cells for cell in ([item] if isinstance(item, str) else item)]
    return "| " + " | ".join(flat) + " |"


def table(results: dict[str, Any], peer: str = PEER) -> str:
    """Markdown: per scenario the peer ran, each figure as a ratio of each target's median to the peer's."""
    others = [  # the targets that ran at least one of the peer's scenarios
        target
        for target in results["targets"]
        if target != peer
        and any(
            scenario["targets"].get(peer, {}).get("summary") and scenario["targets"].get(target, {}).get("summary")
            for scenario in results["scenarios"]
        )
    ]
    lines = [_row("scenario", "figure", f"{peer} (median)", others), "|---|---|---|" + "---|" * len(others)]
    for scenario in results["scenarios"]:
        if not scenario["targets"].get(peer, {}).get("summary"):
            continue
        # The throughput figures come first in the scenarios, the server CPU per unit right after them; the
        # cores each side used are in the limit row instead.
        keys = [(f["key"], f["label"], f["decimals"]) for f in scenario["figures"] if f["key"] not in _CORES]
        for key, label, decimals in keys:
            theirs = _median(scenario, peer, key)
            if theirs is None:
                continue
            cells = []
            for target in others:
                value = ratio(scenario, target, key, peer)
                if round(theirs, decimals) == 0:  # a ratio to a figure shown as 0 says nothing
                    cells.append("(peer ~0)")
                else:
                    cells.append("" if value is None else f"{value:.2f}x")
            lines.append(_row(scenario["name"], label, f"{theirs:,.{decimals}f}", cells))
        if _throughput_pair(scenario["name"]):
            cells = [limit(scenario, target) for target in others]
            lines.append(_row(scenario["name"], "limit (server + load generator cores)", limit(scenario, peer), cells))
    return "\n".join(lines)


def section(results: dict[str, Any], peer: str = PEER) -> str:
    """The generated docs' paragraph and table on the peer, or "" when it did not run."""
    ran = any(scenario["targets"].get(peer, {}).get("summary") for scenario in results["scenarios"])
    if not ran:
        return ""
    return "\n\n".join(
        [
            f"Against {peer.capitalize()} (each cell: the target's median divided by {peer}'s; higher is better"
            " for rates and connections held, lower for times, CPU and memory). The server CPU per delivery"
            " (or per connection) stands beside each throughput: on 2 cores the load generator takes CPU the"
            " server cannot have, so where the limit row names the load generator, the throughput ratio"
            " understates the difference between servers and the CPU ratio is the one to read.",
            table(results, peer),
        ]
    )
