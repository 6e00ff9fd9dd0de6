"""The benchmark suite behind `python bench/run.py` (docs/performance.md).

system.py     what the harness reads from /proc: CPU time, RSS, open files, the machine's load
targets.py    the servers under test, as a registry: how to start each one on a port
loadgen.py    builds the Go programs and drives the load generator (bench/loadgen) through its phases
scenarios.py  what each scenario asks of the load generator and which figures it yields
measure.py    one measurement: a fresh target, the load generator's phases, the server sampled around them
summary.py    runs -> min and median per figure, and the goals of issue 7 checked against them
report.py     the printed table, results JSON, chart and the generated part of docs/performance.md
profiling.py  py-spy's raw stacks -> the functions the server spent its time in (--profile)
"""
