"""Times one case for one library in this process and prints a JSON line: the median step
time ("value"), the number of steps timed and the 10th/90th percentiles of the step times.

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
    return times


def quantile(values, q):
    """The q-quantile of values (nearest rank)"""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library", choices=["autodiff", "numpy", "torch"])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    case = CASES[args.case]
    step, ops = getattr(case, "setup_" + args.library)()
    if getattr(case, "runs", None):  # long cases: a fixed number of runs, no warm-up
        times = measure(step, 0.0, min_runs=case.runs, warmup=0)
    else:
        times = measure(step, args.seconds)
    scale = {"ms": 1e3, "us/op": 1e6, "s": 1.0, "KiB": 1.0}[case.unit] / ops
    result = {"library": args.library, "case": args.case,
              "value": statistics.median(times) * scale, "unit": case.unit, "runs": len(times),
              "in_process": [quantile(times, 0.1) * scale, quantile(times, 0.9) * scale]}
    extra = getattr(case, "extra_" + args.library, None)
    if extra is not None:
        result["extra"] = extra()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
