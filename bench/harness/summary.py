"""From runs to figures: min and median per figure, and the goals of issue 7 checked against the medians."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

#: The targets the goals are about; the others are their baselines.
SUBJECTS = ("ksps", "ksps-redis")
CEILING = "picows-ceiling"
ORIGINAL = "ksmux"
#: The latency scenario at "moderate load": 1,000 publications/s to 10 subscribers (scenarios.py).
MODERATE_LATENCY = "latency-10"


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """min, median and max of every figure over the runs that succeeded."""
    good = [run["figures"] for run in runs if "figures" in run]
    if not good:
        return {}
    return {
        key: {
            "min": min(run[key] for run in good),
            "median": statistics.median(run[key] for run in good),
            "max": max(run[key] for run in good),
            "runs": len(good),
        }
        for key in good[0]
    }


@dataclass(frozen=True)
class Goal:
    """One goal checked for one target: met is None when a figure it needs is missing."""

    scenario: str
    subject: str
    goal: str
    measured: str
    met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Medians:
    def __init__(self, scenarios: list[dict[str, Any]]) -> None:
        self._by_name = {scenario["name"]: scenario for scenario in scenarios}

    def has(self, name: str) -> bool:
        return name in self._by_name

    def names(self, prefix: str) -> list[str]:
        return [name for name in self._by_name if name.startswith(prefix)]

    def get(self, scenario: str, target: str, key: str, which: str = "median") -> float | None:
        entry = self._by_name.get(scenario, {}).get("targets", {}).get(target, {})
        figure = entry.get("summary", {}).get(key)
        return None if figure is None else float(figure[which])


def _ratio_goal(
    medians: _Medians, scenario: str, subject: str, baseline: str, key: str, goal: str, bound: float, at_least: bool
) -> Goal:
    mine, theirs = medians.get(scenario, subject, key), medians.get(scenario, baseline, key)
    if mine is None or theirs is None or theirs == 0:
        return Goal(scenario, subject, goal, "not measured", None)
    ratio = mine / theirs
    met = ratio >= bound if at_least else ratio <= bound
    return Goal(scenario, subject, goal, f"{_number(mine)} vs {_number(theirs)}: {ratio:.2f}x", met)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def check_goals(scenarios: list[dict[str, Any]]) -> list[Goal]:
    """The goals of issue 7, for every subject target that ran."""
    medians = _Medians(scenarios)
    ran = {target for scenario in scenarios for target, entry in scenario["targets"].items() if entry.get("summary")}
    goals: list[Goal] = []
    for subject in (s for s in SUBJECTS if s in ran):
        for name in (n for n in medians.names("fanout-") if not n.endswith("-2n")):  # cross-node: not for these
            goals.append(
                _ratio_goal(medians, name, subject, ORIGINAL, "deliveries_per_s", "deliveries/s >= 2x ksmux", 2.0, True)
            )
            goals.append(
                _ratio_goal(
                    medians, name, subject, CEILING, "deliveries_per_s", "deliveries/s >= 0.8x ceiling", 0.8, True
                )
            )
            goals.append(
                _ratio_goal(
                    medians,
                    name,
                    subject,
                    CEILING,
                    "server_cpu_us_per_delivery",
                    "server CPU/delivery <= 2x ceiling",
                    2.0,
                    False,
                )
            )
        if medians.has(MODERATE_LATENCY):
            goals.append(_latency_goal(medians, subject))
        for name in medians.names("idle-"):
            kib = medians.get(name, subject, "rss_per_connection_kb")
            goals.append(
                Goal(
                    name,
                    subject,
                    "server RSS <= 10 KiB per idle connection",
                    "not measured" if kib is None else f"{kib:.1f} KiB",
                    None if kib is None else kib <= 10.0,
                )
            )
        sized = [name for name in medians.names("idle-") if name.split("-")[1].isdigit()]  # not idle-keepalive
        largest = max(sized, key=lambda name: int(name.split("-")[1]), default=None)
        if largest:
            goals.append(_capacity_goal(medians, largest, subject))
    goals.extend(issue15_goals(medians))
    return goals + history_goals(scenarios)


#: The goals of issue 15 checked by the suite: (scenario, target, figure key, bound, at least, text, on the min).
_ISSUE15_BOUNDS: tuple[tuple[str, str, str, float, bool, str, bool], ...] = (
    ("ack-seq", "ksps", "round_trips_per_s", 8_000, True, "sequential acks >= 8,000/s", False),
    ("ack-seq", "ksps", "server_cpu_us_per_round_trip", 40, False, "<= 40 µs server CPU per round trip", False),
    ("ack-100", "ksps", "round_trips_per_s", 60_000, True, "acks, 100 in flight >= 60,000/s", False),
    ("ack-100", "ksps", "server_cpu_us_per_round_trip", 10, False, "<= 10 µs server CPU per round trip", False),
    ("cross-ack-seq", "ksps-workers", "round_trips_per_s", 3_000, True, "acks across workers >= 3,000/s", False),
    ("pyclient-ack-seq", "ksps", "round_trips_per_s", 6_000, True, "Python client, sequential acks >= 6,000/s", False),
    ("pyclient-ack-100", "ksps", "round_trips_per_s", 40_000, True, "Python client, 100 in flight >= 40,000/s", False),
    ("pyclient-publish", "ksps", "publishes_per_s", 200_000, True, "Python client >= 200k publishes/s, all runs", True),
)


def issue15_goals(medians: _Medians) -> list[Goal]:
    """The goals of issue 15 whose scenarios ran: bounds on one figure, and the cross-node hop at p50 (the p50
    across nodes or workers minus the one-process p50 of the same run) <= 150 µs."""
    goals = []
    for scenario, target, key, bound, at_least, text, on_min in _ISSUE15_BOUNDS:
        value = medians.get(scenario, target, key, "min" if on_min else "median")
        if value is None:
            continue
        met = value >= bound if at_least else value <= bound
        goals.append(Goal(scenario, target, text, f"{_number(value)}{' (worst run)' if on_min else ''}", met))
    single = medians.get("cross-latency-10", "ksps", "p50_us")
    for target in ("ksps-2n", "ksps-workers"):
        across = medians.get("cross-latency-10", target, "p50_us")
        if single is None or across is None:
            continue
        hop = across - single
        measured = f"{across:,.0f} - {single:,.0f} (one process) = {hop:,.0f} µs"
        goals.append(Goal("cross-latency-10", target, "a cross-node hop adds <= 150 µs at p50", measured, hop <= 150))
    return goals


def _capacity_goal(medians: _Medians, scenario: str, subject: str) -> Goal:
    """As many idle connections as the open-file limit allows (1% slack), none dropped by keepalive."""
    requested = int(scenario.split("-")[1])
    held = medians.get(scenario, subject, "connected")
    still_open = medians.get(scenario, subject, "still_open")
    allowance = medians.get(scenario, subject, "connection_allowance")
    goal = "idle connections held = what the open-file limit allows"
    if held is None or allowance is None or still_open is None:
        return Goal(scenario, subject, goal, "not measured", None)
    possible = min(requested, allowance)
    measured = (
        f"{held:,.0f} held of {requested:,} tried; the open-file limit leaves about {allowance:,.0f}"
        f" ({still_open:,.0f} still open at the end)"
    )
    return Goal(scenario, subject, goal, measured, held >= 0.99 * possible and still_open >= held)


def _latency_goal(medians: _Medians, subject: str) -> Goal:
    """p99 under 1 ms; the ceiling's p99 from the same run is shown next to it, as the noise floor."""
    p99 = medians.get(MODERATE_LATENCY, subject, "p99_us")
    goal = "p99 publish-to-deliver < 1 ms (moderate load)"
    if p99 is None:
        return Goal(MODERATE_LATENCY, subject, goal, "not measured", None)
    ceiling = medians.get(MODERATE_LATENCY, CEILING, "p99_us")
    context = "" if ceiling is None else f" (ceiling: {ceiling:,.0f} µs)"
    return Goal(MODERATE_LATENCY, subject, goal, f"{p99:,.0f} µs{context}", p99 < 1000)


# --- topic history (issue 12): what history costs, against the same target with history off in the same run.
#: (scenario, target with history on, the same with history off, allowed cost: CPU per delivery ratio, or None
#: when the pair is shown in the on/off table but is no goal).
HISTORY_PAIRS: tuple[tuple[str, str, str, float | None], ...] = (
    ("fanout-100", "ksps-history", "ksps", 1.20),
    ("fanout-100", "ksps-redis-history", "ksps-redis", 1.35),
    ("fanout-100-2n", "ksps-2n-history", "ksps-2n", 1.35),
    ("fanout-10", "ksps-history", "ksps", 1.20),  # --smoke
    # Not a goal of the issue: the same cost per publication spread over 10x the deliveries.
    ("fanout-1000", "ksps-history", "ksps", None),
    ("fanout-1000", "ksps-redis-history", "ksps-redis", None),
    # The same pairs on the baseline source tree ($KSPS_BENCH_BASELINE), for before/after runs.
    ("fanout-100", "ksps-base-history", "ksps-base", None),
    ("fanout-100", "ksps-base-redis-history", "ksps-base-redis", None),
)


def history_goals(scenarios: list[dict[str, Any]]) -> list[Goal]:
    """History costs < 20% of server CPU per delivery in memory mode, < 35% with Redis (issue 12)."""
    medians = _Medians(scenarios)
    goals = []
    for scenario, subject, baseline, bound in HISTORY_PAIRS:
        if bound is None or medians.get(scenario, subject, "server_cpu_us_per_delivery") is None:
            continue
        goal = f"history costs < {round((bound - 1) * 100)}%: server CPU/delivery <= {bound:.2f}x {baseline}"
        key = "server_cpu_us_per_delivery"
        goals.append(_ratio_goal(medians, scenario, subject, baseline, key, goal, bound, False))
    return goals


def paired_ratios(scenarios: list[dict[str, Any]], figures: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per figure of each history pair: both sides' median and min, and the ratio history/off of each run with
    the baseline's run of the same round (targets are interleaved: run i of both ran back to back)."""
    by_name = {scenario["name"]: scenario for scenario in scenarios}
    rows = []
    for scenario, subject, baseline, _ in HISTORY_PAIRS:
        entries = by_name.get(scenario, {}).get("targets", {})
        on, off = entries.get(subject, {}), entries.get(baseline, {})
        if not on.get("summary") or not off.get("summary"):
            continue
        for key in figures:
            pairs = [
                (a["figures"][key], b["figures"][key])
                for a, b in zip(on["runs"], off["runs"], strict=False)
                if "figures" in a and "figures" in b and b["figures"][key]
            ]
            ratios = sorted(mine / theirs for mine, theirs in pairs)
            if not ratios:
                continue
            rows.append(
                {
                    "scenario": scenario,
                    "subject": subject,
                    "baseline": baseline,
                    "figure": key,
                    "on": on["summary"][key],
                    "off": off["summary"][key],
                    "ratio_median": statistics.median(ratios),
                    "ratio_min": ratios[0],
                    "ratio_max": ratios[-1],
                }
            )
    return rows


# --- end of topic history
