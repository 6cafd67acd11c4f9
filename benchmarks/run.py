"""Runs the benchmark suite: every case for autodiff, hand-written numpy and PyTorch (when
installed), each library in its own process, over at least 10 process runs per (library, case)
by default; prints each library's median and range over its runs, the ratios of medians and the
range of the paired ratios, and writes every sample as JSON.

    python benchmarks/run.py [--cases chain1000,mlp_small] [--processes 10] [--seconds 0.5]
                             [--long-processes 3] [--threads N] [--json PATH]

--processes N (alias --rounds): process runs per (library, case), in N rounds; each round runs
  every library once, in alternating order (so drift of the machine hits all of them), and
  run i of autodiff is paired with run i of each other library for the paired ratios.
--seconds S: timing budget of one process (the median step time of that process is its sample).
--long-processes N: process runs for the long cases (whole training runs, memory: cases with a
  fixed `runs`), which take seconds each; the output marks them.
Output per case: one line per library, "median [min - max]" over its process runs; on the
autodiff line, for numpy and PyTorch, the ratio of medians and [min-max] of the paired ratios.
The JSON keeps every sample (`samples`), the summaries, and the old `median`/`ratio_vs_*` keys.

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
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cases import CASES  # noqa: E402
from spread import OTHERS, format_case, header, summarize_case  # noqa: E402


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


def round_orders(libs, rounds):
    """The order of the libraries in each round: alternately forward and reversed."""
    return [list(libs) if r % 2 == 0 else list(libs)[::-1] for r in range(rounds)]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, from: {', '.join(CASES)}")
    ap.add_argument("--processes", "--rounds", dest="processes", type=int, default=10,
                    help="process runs per (library, case), alternating libraries (default 10)")
    ap.add_argument("--long-processes", type=int, default=3,
                    help="process runs for long cases with a fixed number of runs (default 3)")
    ap.add_argument("--seconds", type=float, default=0.5, help="timing budget per process")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"))
    ap.add_argument("--keep-env", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="thread count for BLAS and OpenMP in every process (default: library "
                         "defaults, i.e. all cores)")
    args = ap.parse_args(argv)
    if args.processes < 1 or args.long_processes < 1:
        ap.error("--processes and --long-processes must be at least 1")
    names = [c for c in args.cases.split(",") if c]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
    args.case_names = names
    return args


def main(argv=None):
    args = parse_args(argv)
    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    if not args.keep_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    all_libs = ["autodiff", "numpy"] + (["torch"] if have_torch() and not args.no_torch else [])
    results = {}
    print(f"{args.processes} process runs per library and case ({args.seconds:g} s each); "
          f"ratios: ratio of medians [min-max of the per-run ratios]", flush=True)
    print(header(), flush=True)
    for name in args.case_names:
        case = CASES[name]
        libs = [lib for lib in all_libs if hasattr(case, "setup_" + lib)]
        long_case = bool(getattr(case, "runs", None))
        rounds = args.long_processes if long_case else args.processes
        samples = {lib: [] for lib in libs}
        in_process = {lib: [] for lib in libs}
        extra = {}
        for order in round_orders(libs, rounds):
            for lib in order:
                res = run_one(lib, name, args.seconds, env)
                samples[lib].append(res["value"])
                if "in_process" in res:
                    in_process[lib].append(res["in_process"])
                if "extra" in res:
                    extra[lib] = res["extra"]
        row = summarize_case(samples)
        row.update(unit=case.unit, description=case.description, processes=rounds,
                   samples=samples, in_process_p10_p90=in_process,
                   median={lib: d["median"] for lib, d in row["libraries"].items()})
        for other in OTHERS:
            if "vs_" + other in row:
                row["ratio_vs_" + other] = row["vs_" + other]["ratio_of_medians"]
        if extra:
            row["extra"] = extra
        results[name] = row
        note = f"({rounds} process runs: long case)" if long_case and \
            rounds != args.processes else ""
        for line in format_case(name, case.unit, row, all_libs, note=note):
            print(line, flush=True)
        if extra:
            print(f"{'':<16} extra: " + " ".join(f"{lib}: {v}" for lib, v in extra.items()),
                  flush=True)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "processes": args.processes,
            "long_processes": args.long_processes, "seconds": args.seconds,
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
