"""Times one case for one library in this process and prints a JSON line.

    python benchmarks/worker.py LIBRARY CASE [--seconds S]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cases import CASES  # noqa: E402


def measure(step, seconds, min_runs=5, warmup=2):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        inner = step()  # a step may time its own part and return seconds
        elapsed = time.perf_counter() - t0
        times.append(inner if isinstance(inner, float) else elapsed)
        if len(times) >= 2000:
            break
    return statistics.median(times), len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library", choices=["autodiff", "numpy", "torch"])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    case = CASES[args.case]
    step, ops = getattr(case, "setup_" + args.library)()
    if getattr(case, "runs", None):  # long cases: a fixed number of runs, no warm-up
        median, runs = measure(step, 0.0, min_runs=case.runs, warmup=0)
    else:
        median, runs = measure(step, args.seconds)
    scale = {"ms": 1e3, "us/op": 1e6, "s": 1.0, "KiB": 1.0}[case.unit]
    result = {"library": args.library, "case": args.case, "value": median * scale / ops,
              "unit": case.unit, "runs": runs}
    extra = getattr(case, "extra_" + args.library, None)
    if extra is not None:
        result["extra"] = extra()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
