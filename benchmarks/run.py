"""Runs the benchmark suite: every case for autodiff, hand-written numpy and PyTorch (when
installed), each library in its own process, alternated over rounds; prints medians and ratios
and writes them as JSON.

    python benchmarks/run.py [--cases chain1000,mlp_small] [--rounds 3] [--json PATH]

Each library runs in a fresh process because numpy's BLAS threads and PyTorch's OpenMP threads
fight for the cores when they share one. Thread counts are left at their defaults (all cores).
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
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0, help="timing budget per process")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--keep-env", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if not args.keep_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    libs = ["autodiff", "numpy"] + (["torch"] if have_torch() and not args.no_torch else [])
    names = [c for c in args.cases.split(",") if c]
    results = {}
    print(f"{'case':<12} {'unit':<6} " + " ".join(f"{lib:>10}" for lib in libs)
          + "   ad/numpy" + ("   ad/torch" if "torch" in libs else ""))
    for name in names:
        samples = {lib: [] for lib in libs}
        extra = {}
        for r in range(args.rounds):
            for lib in (libs if r % 2 == 0 else libs[::-1]):
                res = run_one(lib, name, args.seconds, env)
                samples[lib].append(res["value"])
                if "extra" in res:
                    extra[lib] = res["extra"]
        med = {lib: statistics.median(v) for lib, v in samples.items()}
        row = {"unit": CASES[name].unit, "description": CASES[name].description, "median": med,
               "ratio_vs_numpy": med["autodiff"] / med["numpy"]}
        if extra:
            row["extra"] = extra
        if "torch" in med:
            row["ratio_vs_torch"] = med["autodiff"] / med["torch"]
        results[name] = row
        line = f"{name:<12} {row['unit']:<6} " + " ".join(f"{med[lib]:>10.3f}" for lib in libs)
        line += f"   {row['ratio_vs_numpy']:>8.2f}x"
        if "ratio_vs_torch" in row:
            line += f"   {row['ratio_vs_torch']:>8.2f}x"
        if extra:
            line += "   " + " ".join(f"{lib}: {v}" for lib, v in extra.items())
        print(line, flush=True)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "rounds": args.rounds}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    os.replace(tmp, args.json)
    print(f"results written to {args.json}")
    return results


if __name__ == "__main__":
    main()
