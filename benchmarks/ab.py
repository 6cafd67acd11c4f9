"""A/B timing of autodiff between two source trees (a change against main), the method of
docs/performance.md: each (tree, case) runs in a fresh process pinned to one core, with address
randomisation off and a fixed hash seed, alternating the trees over rounds; medians per tree.

    git worktree add /tmp/base main
    python benchmarks/ab.py /tmp/base . --cases chain1000,moons,mlp_small --rounds 4

Prints each case's median time in both trees and the change in percent (negative: faster).
Single-process timings on a shared VM vary by 5-30%, so only a change that holds over every
round means anything; a case more than 5% slower beyond that noise is a regression.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = "chain1000,mlp_small,tanh2,chain100k,moons,conv2d"


def run_one(tree, case, seconds, core):
    worker = os.path.join(os.path.abspath(tree), "benchmarks", "worker.py")
    cmd = [sys.executable, worker, "autodiff", case, "--seconds", str(seconds)]
    if core is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core)] + cmd
    if shutil.which("setarch"):
        cmd = ["setarch", os.uname().machine, "-R"] + cmd
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"ab: {case} failed in {tree}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the reference tree (e.g. a worktree of main)")
    ap.add_argument("new", help="the tree with the change")
    ap.add_argument("--cases", default=QUICK, help=f"comma-separated (default: {QUICK})")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=1.0, help="timing budget per process")
    ap.add_argument("--core", type=int, default=1, help="CPU to pin to (-1: no pinning)")
    args = ap.parse_args(argv)
    core = None if args.core < 0 else args.core
    trees = {"base": args.base, "new": args.new}
    print(f"{'case':<12} {'base':>12} {'new':>12} {'change':>8}   rounds (new/base)")
    for case in args.cases.split(","):
        values = {"base": [], "new": []}
        unit = ""
        for r in range(args.rounds):
            order = ("base", "new") if r % 2 == 0 else ("new", "base")
            for name in order:
                res = run_one(trees[name], case, args.seconds, core)
                values[name].append(res["value"])
                unit = res["unit"]
        b, n = statistics.median(values["base"]), statistics.median(values["new"])
        ratios = " ".join(f"{x / y:.2f}" for x, y in zip(values["new"], values["base"]))
        print(f"{case:<12} {b:>9.4g} {unit:<2} {n:>9.4g} {unit:<2} {100 * (n / b - 1):>+7.1f}%"
              f"   {ratios}", flush=True)


if __name__ == "__main__":
    main()
