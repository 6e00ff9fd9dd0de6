"""What the suite writes: the table (printed and in the docs), the results JSON, the chart, and the generated
section of docs/performance.md (between the markers below; the rest of that file is hand-written)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import peers
from .summary import Goal

BEGIN = "<!-- bench:generated:begin (python bench/run.py rewrites this section) -->"
END = "<!-- bench:generated:end -->"


def _cell(entry: dict[str, Any], key: str, decimals: int) -> str:
    if "skipped" in entry:
        return str(entry["skipped"])
    figure = entry.get("summary", {}).get(key)
    runs = entry.get("runs", [])
    failed = [run for run in runs if "error" in run]
    if figure is None:
        if len(failed) < len(runs):
            return "n/a"  # the runs succeeded; this target has no such figure (Redis memory without Redis)
        reason = failed[0]["error"] if failed else "no run"
        return f"failed: {reason[:80]}"
    text = f"{figure['median']:,.{decimals}f} [{figure['min']:,.{decimals}f}]"
    if failed:
        text += f" ({len(failed)} of {len(runs)} runs failed)"
    return text


def table(results: dict[str, Any]) -> str:
    """Markdown table: one row per scenario figure, one column per target; median of the runs, [min]."""
    targets = results["targets"]
    lines = [
        "| scenario | figure | " + " | ".join(targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]
    for scenario in results["scenarios"]:
        for figure in scenario["figures"]:
            cells = [
                _cell(scenario["targets"].get(t, {"skipped": "not run"}), figure["key"], figure["decimals"])
                for t in targets
            ]
            lines.append(f"| {scenario['name']} | {figure['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(goals: list[Goal]) -> str:
    lines = ["| scenario | target | goal | measured (medians) | met |", "|---|---|---|---|---|"]
    for goal in goals:
        met = "n/a" if goal.met is None else ("yes" if goal.met else "**no**")
        lines.append(f"| {goal.scenario} | {goal.subject} | {goal.goal} | {goal.measured} | {met} |")
    return "\n".join(lines)


def conditions(results: dict[str, Any]) -> str:
    """One paragraph on where and how the figures were measured, noise included."""
    machine = results["machine"]
    others = [
        run["others_cores"]
        for scenario in results["scenarios"]
        for entry in scenario["targets"].values()
        for run in entry.get("runs", [])
        if "others_cores" in run
    ]
    noise = ""
    if others:
        others.sort()
        noise = (
            f" Other processes on the box kept {others[len(others) // 2]:.2f} cores busy (median over the measured"
            f" phases; max {others[-1]:.2f}) while the suite ran."
        )
    return (
        f"Measured {results['generated']} with `{results['command']}`"
        + (f" ({results['duration_min']} minutes)" if "duration_min" in results else "")
        + f": {results['runs']} runs per figure, targets"
        f" interleaved, each run against a freshly started server. Machine: {machine['cpu']}, {machine['cores']}"
        f" cores, {machine['memory_gib']} GiB, Linux {machine['kernel']}, Python {machine['python']},"
        f" {machine['go']}, open-file limit {machine['open_file_limit']}.{noise}"
    )


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


def write_docs(results: dict[str, Any], docs: Path, chart: Path, data: Path) -> None:
    """Rewrite the generated section of the performance page (appended if the markers are missing)."""

    def relative(path: Path) -> Path:
        return Path("..") / path.resolve().relative_to(docs.resolve().parent.parent)

    skipped = results.get("skipped_targets", {})
    skipped_text = "".join(f"\n\nNot run: `{name}` ({reason})." for name, reason in skipped.items())
    section = "\n\n".join(
        [
            BEGIN,
            conditions(results) + skipped_text,
            "Each cell: median of the runs, [min]. Scenarios: "
            + "; ".join(f"`{s['name']}` {s['title']}" for s in results["scenarios"])
            + ".",
            table(results),
            *filter(None, [peers.section(results)]),
            f"![benchmark chart]({relative(chart).as_posix()})",
            "Goals (issues 7 and 15), checked on the medians:",
            goals_table([Goal(**goal) for goal in results["goals"]]),
            f"All runs, with the load generator's own reports: [{data.name}]({relative(data).as_posix()}).",
            END,
        ]
    )
    text = docs.read_text() if docs.exists() else "# Performance\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    updated = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
    docs.write_text(updated)


#: Chart panels: title, the (scenario, figure) pairs shown as groups of bars, log scale, goal line.
_FANOUT = ("fanout-100", "fanout-1000")
_PANELS: list[tuple[str, list[tuple[str, str]], bool, float | None]] = [
    ("Fan-out deliveries/s (higher is better)", [(s, "deliveries_per_s") for s in _FANOUT], False, None),
    ("Server CPU µs per delivery (lower is better)", [(s, "server_cpu_us_per_delivery") for s in _FANOUT], False, None),
    (
        "Publish-to-deliver latency µs, log (goal: p99 < 1 ms)",
        [("latency-10", "p50_us"), ("latency-10", "p99_us"), ("latency-10", "p999_us"), ("latency-100", "p99_us")],
        True,
        1000.0,
    ),
    ("Ack round trips/s (higher is better)", [(s, "round_trips_per_s") for s in ("ack-seq", "ack-100")], False, None),
    (
        "Server RSS KiB per idle connection (goal: <= 10)",
        [(f"idle-{n}", "rss_per_connection_kb") for n in (1000, 5000, 10000, 20000)],
        False,
        10.0,
    ),
    ("Connections/s (higher is better)", [("connrate", "connections_per_s")], False, None),
]


def _label_peer_ratios(
    axis: Any, by_name: dict[str, dict[str, Any]], groups: list[tuple[str, str]], target: str, xs: list[float]
) -> None:
    """At the foot of each bar of a target other than the peer (Centrifugo): its median as a ratio to the peer's."""
    if target == peers.PEER:
        return
    shown = [
        (name, key) for name, key in groups if by_name[name]["targets"].get(target, {}).get("summary", {}).get(key)
    ]
    for x, (name, key) in zip(xs, shown, strict=True):
        value = peers.ratio(by_name[name], target, key)
        if value is not None:
            axis.annotate(
                f"{value:.2g}x",
                (x, 0),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                xycoords=("data", "axes fraction"),
                rotation=90,
            )


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Bar charts of the headline figures: medians, with the minimum marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name = {scenario["name"]: scenario for scenario in results["scenarios"]}
    targets = list(results["targets"])
    known = dict.fromkeys(["ksps", "ksps-redis", "ksmux", "picows-ceiling", *targets])
    colors = {name: f"C{i}" for i, name in enumerate(known)}  # one colour per target, whatever ran
    figure, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    for axis, (title, groups, log, goal) in zip(axes.flat, _PANELS, strict=True):
        groups = [(name, key) for name, key in groups if name in by_name]
        width = 0.8 / max(1, len(targets))
        for index, target in enumerate(targets):
            xs, medians, mins = [], [], []
            for position, (name, key) in enumerate(groups):
                summary = by_name[name]["targets"].get(target, {}).get("summary", {}).get(key)
                if summary:
                    xs.append(position + (index - (len(targets) - 1) / 2) * width)
                    medians.append(summary["median"])
                    mins.append(summary["min"])
            axis.bar(xs, medians, width, label=target, color=colors[target])
            axis.scatter(xs, mins, marker="_", color="black", s=60, zorder=3)
            _label_peer_ratios(axis, by_name, groups, target, xs)
        labels = [
            name if key.endswith("_per_s") or len({k for _, k in groups}) == 1 else f"{name}\n{key[:-3]}"
            for name, key in groups
        ]
        axis.set_xticks(range(len(groups)), labels, fontsize=8)
        axis.set_title(title, fontsize=10)
        if not axis.patches:
            axis.text(0.5, 0.5, "not measured", ha="center", va="center", transform=axis.transAxes)
            continue
        if log:
            axis.set_yscale("log")
        if goal is not None:
            axis.axhline(goal, color="red", linestyle="--", linewidth=1)
        axis.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    ratios = f"; small labels: median / {peers.PEER}'s" if peers.PEER in targets else ""
    figure.suptitle(
        f"ksps benchmark suite, {results['generated']} (bars: median; black marks: min{ratios})", fontsize=11
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


# --- topic history (issue 12)
def history_table(results: dict[str, Any]) -> str:
    """History on vs off, same run: medians [min] of both and the ratio of each run to its baseline's."""
    from .summary import paired_ratios

    rows = paired_ratios(results["scenarios"], ("server_cpu_us_per_delivery", "deliveries_per_s"))
    if not rows:
        return ""
    lines = [
        "| scenario | figure | history off | history on | on/off, median of runs [min, max] |",
        "|---|---|---|---|---|",
    ]
    labels = {"server_cpu_us_per_delivery": ("server CPU µs/delivery", 3), "deliveries_per_s": ("deliveries/s", 0)}
    for row in rows:
        label, decimals = labels[row["figure"]]
        off, on = row["off"], row["on"]
        off_text = f"{off['median']:,.{decimals}f} [{off['min']:,.{decimals}f}]"
        on_text = f"{on['median']:,.{decimals}f} [{on['min']:,.{decimals}f}]"
        lines.append(
            f"| {row['scenario']} | {label} | `{row['baseline']}` {off_text} | `{row['subject']}` {on_text}"
            f" | {row['ratio_median']:.2f}x [{row['ratio_min']:.2f}, {row['ratio_max']:.2f}] |"
        )
    return "\n".join(lines)


# --- end of topic history
