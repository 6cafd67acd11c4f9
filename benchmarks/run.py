"""Runs the benchmark suite: every case for autodiff, hand-written numpy and PyTorch (when
installed), each library in its own process, alternated over rounds; prints medians and ratios
and writes them as JSON.

    python benchmarks/run.py [--cases chain1000,mlp_small] [--rounds 3] [--json PATH]

Each library runs in a fresh process because numpy's BLAS threads and PyTorch's OpenMP threads
fight for the cores when they share one. Thread counts are left at their defaults (all cores)
unless --threads is given; run on an otherwise idle machine (PyTorch's spinning OpenMP threads
slow it down by 100x or more when other processes compete for the cores).
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, which some machines here set to work around old OpenBLAS
builds, are removed for the child processes (they slow a current numpy's BLAS ~1.7x); pass
--keep-env to keep them.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cases import CASES  # noqa: E402


def have_torch():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except Exception:
        return False


def run_one(library, case, seconds, env):
    out = subprocess.run([sys.executable, os.path.join(HERE, "worker.py"), library, case,
                          "--seconds", str(seconds)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{library} {case} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, from: {', '.join(CASES)}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0, help="timing budget per process")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--keep-env", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="thread count for BLAS and OpenMP in every process (default: library "
                         "defaults, i.e. all cores)")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    if not args.keep_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    all_libs = ["autodiff", "numpy"] + (["torch"] if have_torch() and not args.no_torch else [])
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
    results = {}
    print(f"{'case':<13} {'unit':<6} " + " ".join(f"{lib:>10}" for lib in all_libs)
          + "   ad/numpy   ad/torch")
    for name in names:
        libs = [lib for lib in all_libs if hasattr(CASES[name], "setup_" + lib)]
        rounds = 1 if getattr(CASES[name], "runs", None) else args.rounds
        samples = {lib: [] for lib in libs}
        extra = {}
        for r in range(rounds):
            for lib in (libs if r % 2 == 0 else libs[::-1]):
                res = run_one(lib, name, args.seconds, env)
                samples[lib].append(res["value"])
                if "extra" in res:
                    extra[lib] = res["extra"]
        med = {lib: statistics.median(v) for lib, v in samples.items()}
        row = {"unit": CASES[name].unit, "description": CASES[name].description, "median": med}
        for other in ("numpy", "torch"):
            if other in med and med[other] > 0:
                row["ratio_vs_" + other] = med["autodiff"] / med[other]
        if extra:
            row["extra"] = extra
        results[name] = row
        line = f"{name:<13} {row['unit']:<6} " + " ".join(
            f"{med[lib]:>10.3f}" if lib in med else f"{'-':>10}" for lib in all_libs)
        for other in ("numpy", "torch"):
            r = row.get("ratio_vs_" + other)
            line += f"   {r:>7.2f}x" if r is not None else f"   {'-':>8}"
        if extra:
            line += "   " + " ".join(f"{lib}: {v}" for lib, v in extra.items())
        print(line, flush=True)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "rounds": args.rounds,
            "threads": args.threads or "default"}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    os.replace(tmp, args.json)
    print(f"results written to {args.json}")
    return results


if __name__ == "__main__":
    main()
