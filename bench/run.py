"""The benchmark suite: every scenario against every target in turn, repeated, with baselines in the same run.

    python bench/run.py              the full suite (about 10 minutes); writes bench/results/latest.json,
                                     bench/results/latest.png and the generated section of docs/performance.md
    python bench/run.py --smoke      under a minute: tiny counts, one run, the targets marked smoke (ksps, the
                                     picows ceiling and sink, ksps-workers); writes into a temporary directory;
                                     exits non-zero if anything failed
    python bench/run.py --profile fanout-100
                                     after the runs, one more ksps run of that scenario under py-spy; writes
                                     bench/results/profile-<scenario>.raw and prints the top functions

Needs Go (to build bench/loadgen and the original server, versions pinned in bench/go.mod) and, for the chart,
matplotlib (bench/requirements.txt). Scenarios whose load must be Python run bench/pyloadgen instead of the Go
load generator. See docs/performance.md for what each scenario measures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import loadgen, peers, report
from harness.measure import measure
from harness.profiling import top_functions
from harness.scenarios import Scenario, scenarios
from harness.summary import check_goals, summarize
from harness.system import describe_machine
from harness.targets import TARGETS, Target

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="targets: " + ", ".join(TARGETS))
    parser.add_argument("--smoke", action="store_true", help="under a minute: tiny counts, 1 run, the smoke targets")
    parser.add_argument("--runs", type=int, help="runs per figure (default: 3, smoke: 1)")
    parser.add_argument("--targets", help="comma-separated targets (default: all that can run here)")
    parser.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    parser.add_argument("--out", type=Path, help="results directory (default: bench/results, smoke: a temp dir)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated scenarios to profile ksps on (py-spy); SCENARIO@TARGET for another target;"
        " pyclient-*: the client",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the chart and docs from the results JSON already in --out",
    )
    return parser.parse_args()


def _choose_targets(args: argparse.Namespace) -> tuple[list[Target], dict[str, str]]:
    if args.targets:
        unknown = set(args.targets.split(",")) - set(TARGETS)
        if unknown:
            sys.exit(f"unknown targets: {', '.join(sorted(unknown))} (known: {', '.join(TARGETS)})")
        wanted = [TARGETS[name] for name in args.targets.split(",")]
    else:
        wanted = [t for t in TARGETS.values() if (t.smoke if args.smoke else t.default)]
    chosen, skipped = [], {}
    for target in wanted:
        reason = target.unavailable()
        if reason:
            print(f"note: target {target.name} skipped: {reason}", flush=True)
            skipped[target.name] = reason
        else:
            chosen.append(target)
    return chosen, skipped


def _prepare(chosen: list[Target], skipped: dict[str, str], explicit: bool) -> list[Target]:
    """Run the targets' own builds (Centrifugo's takes minutes the first time, then is cached).

    A failure ends the suite with its reason when the target was asked for by name, and skips the target with
    a note when it was only one of the defaults.
    """
    ready = []
    for target in chosen:
        if target.prepare is not None:
            print(f"preparing target {target.name} (its own build, minutes the first time)", flush=True)
            try:
                target.prepare()
            except Exception as exc:
                if explicit:
                    sys.exit(f"target {target.name} cannot run: {exc}")
                print(f"note: target {target.name} skipped: {exc}", flush=True)
                skipped[target.name] = f"its build failed: {str(exc).splitlines()[0]}"
                continue
        ready.append(target)
    return ready


def _choose_scenarios(args: argparse.Namespace) -> list[Scenario]:
    every = scenarios(args.smoke)
    if not args.scenarios:
        return every
    names = args.scenarios.split(",")
    unknown = set(names) - {s.name for s in every}
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(s.name for s in every)})")
    return [s for s in every if s.name in names]


def _progress(step: int, total: int, scenario: Scenario, run: int, runs: int, target: Target, outcome: str) -> None:
    print(f"[{step:3d}/{total}] {scenario.name:12s} run {run}/{runs}  {target.name:15s} {outcome}", flush=True)


def _outcome(scenario: Scenario, run: dict[str, Any], seconds: float) -> str:
    if "error" in run:
        return f"FAILED: {run['error'][:160]}"
    present = [figure for figure in scenario.figures if figure.key in run["figures"]]  # Redis figures need Redis
    shown = [f"{figure.format(run['figures'][figure.key])} {figure.label}" for figure in present[:2]]
    return f"{' · '.join(shown)}  ({seconds:.1f} s; other load {run['others_cores']:.2f} cores)"


def _run_all(chosen: list[Target], plan: list[Scenario], runs: int) -> list[dict[str, Any]]:
    measured = [(s, t) for s in plan for t in chosen if s.skip_reason(t) is None]
    total, step = len(measured) * runs, 0
    print(f"{total} measurements: {len(plan)} scenarios x {len(chosen)} targets x {runs} runs", flush=True)
    results = []
    for scenario in plan:
        entries: dict[str, dict[str, Any]] = {}
        for target in chosen:
            reason = scenario.skip_reason(target)
            entries[target.name] = {"skipped": reason} if reason is not None else {"runs": []}
        for run in range(runs):
            # Interleaved, and the order rotates, so drift of a noisy machine does not favour one target.
            order = chosen[run % len(chosen) :] + chosen[: run % len(chosen)]
            for target in order:
                if scenario.skip_reason(target) is not None:
                    continue
                step += 1
                started = time.monotonic()
                try:
                    outcome = measure(target, scenario)
                except Exception as exc:  # one failed run is a result too; the suite goes on
                    outcome = {"error": f"{type(exc).__name__}: {exc}"}
                entries[target.name]["runs"].append(outcome)
                shown = _outcome(scenario, outcome, time.monotonic() - started)
                _progress(step, total, scenario, run + 1, runs, target, shown)
        for entry in entries.values():
            if "runs" in entry:
                entry["summary"] = summarize(entry["runs"])
        results.append(
            {
                "name": scenario.name,
                "title": scenario.title,
                "figures": [vars(figure) for figure in scenario.figures],
                "targets": entries,
            }
        )
    return results


def _profile(names: list[str], plan: list[Scenario], out: Path) -> None:
    for name in names:
        # `scenario@target` profiles another target than ksps (e.g. fanout-100@ksps-redis-history).
        scenario_name, _, target_name = name.partition("@")
        target = TARGETS[target_name or "ksps"]
        for scenario in (s for s in plan if s.name == scenario_name):
            suffix = f"-{target.name}" if target_name else ""
            raw = out / f"profile-{scenario.name}{suffix}.raw"
            subject = "the Python load generator" if scenario.profiled == "loadgen" else target.name
            print(f"profiling {subject} on {scenario.name} with py-spy -> {raw}", flush=True)
            outcome = measure(target, scenario, profile_to=raw)
            print(_outcome(scenario, outcome, outcome["wall_s"]))
            print(top_functions(raw), flush=True)


def _write_outputs(results: dict[str, Any], out: Path, args: argparse.Namespace) -> bool:
    """The chart, then the docs section; False if the chart could not be drawn in a full run."""
    json_path, chart_path = out / "latest.json", out / "latest.png"
    try:
        report.write_chart(results, chart_path)
    except ImportError:
        print("note: no chart, matplotlib is not installed (pip install -r bench/requirements.txt)")
        if not args.smoke:
            return False
    print(f"results: {json_path}" + (f", {chart_path}" if chart_path.exists() else ""))
    if not args.smoke and not args.no_docs:
        docs = ROOT / "docs" / "performance.md"
        report.write_docs(results, docs, chart_path, json_path)
        print(f"updated the generated section of {docs.relative_to(ROOT)}")
    return True


def _report_only(out: Path, args: argparse.Namespace) -> int:
    results = json.loads((out / "latest.json").read_text())
    goals = check_goals(results["scenarios"])
    results["goals"] = [goal.as_dict() for goal in goals]
    report.write_json(results, out / "latest.json")
    print(report.table(results) + "\n\n" + report.goals_table(goals) + "\n")
    if report.history_table(results):
        print(report.history_table(results) + "\n")
    if peers.section(results):
        print(peers.table(results) + "\n")
    return 0 if _write_outputs(results, out, args) else 1


def main() -> int:
    args = _arguments()
    runs = args.runs or (1 if args.smoke else 3)
    out = args.out or (Path(tempfile.mkdtemp(prefix="ksps-bench-")) if args.smoke else BENCH / "results")
    if args.report_only:
        return _report_only(out, args)
    chosen, skipped = _choose_targets(args)
    plan = _choose_scenarios(args)
    if not chosen:
        print("no target can run", file=sys.stderr)
        return 1
    print("building bench/loadgen" + "".join(f" and {t.go_package}" for t in chosen if t.go_package), flush=True)
    loadgen.build([t.go_package for t in chosen if t.go_package])
    chosen = _prepare(chosen, skipped, explicit=bool(args.targets))
    if not chosen:
        print("no target can run", file=sys.stderr)
        return 1
    started = time.monotonic()
    command = "python bench/run.py" + (" --smoke" if args.smoke else "") + (f" --runs {runs}" if args.runs else "")
    results: dict[str, Any] = {
        "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "runs": runs,
        "machine": describe_machine(),
        "targets": {t.name: t.summary for t in chosen},
        "skipped_targets": skipped,
        "scenarios": _run_all(chosen, plan, runs),
    }
    results["duration_min"] = round((time.monotonic() - started) / 60, 1)
    goals = check_goals(results["scenarios"])
    results["goals"] = [goal.as_dict() for goal in goals]
    print("\n" + report.table(results) + "\n")
    if peers.section(results):
        print(peers.table(results) + "\n")
    if goals:
        print(report.goals_table(goals) + "\n")
    if report.history_table(results):  # topic history on vs off (issue 12)
        print(report.history_table(results) + "\n")
    report.write_json(results, out / "latest.json")
    if not _write_outputs(results, out, args):
        return 1
    if args.profile:
        _profile(args.profile.split(","), plan, out)
    failures = [
        (scenario["name"], name, run["error"])
        for scenario in results["scenarios"]
        for name, entry in scenario["targets"].items()
        for run in entry.get("runs", [])
        if "error" in run
    ]
    figures = sum(bool(entry.get("summary")) for s in results["scenarios"] for entry in s["targets"].values())
    if not figures:
        print("FAILED: the table is empty", file=sys.stderr)
        return 1
    if failures:
        print(f"{len(failures)} runs failed:", *(f"  {s} / {t}: {e}" for s, t, e in failures), sep="\n")
        return 1 if args.smoke else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
