"""Scaling out: the MNIST MLP's epoch time on 1 and 2 MPI ranks, and an augmentation-heavy
DataLoader with 0 and 2 worker processes.

    python benchmarks/scaling.py [--rounds 3] [--parts mpi,workers] [--json PATH]

Each measurement runs in its own process(es), alternated over rounds; medians and the spread
are printed. Every process uses one BLAS thread (OMP_NUM_THREADS=1 and friends), so 2 ranks or
2 workers use the 2 cores of this machine without oversubscribing them. Scaling efficiency =
t(1 rank) / (2 * t(2 ranks)). Run on an otherwise idle machine.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MLP = ["--dataset", "mnist", "--model", "mlp", "--hidden", "256,128", "--batch-size", "128",
       "--optimizer", "sgd", "--lr", "0.1", "--epochs", "1", "--out"]
EPOCH_TIME = re.compile(r"epoch 1/1 .*\| ([0-9.]+)s")


def _env():
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE] + ([env["PYTHONPATH"]]
                                                        if env.get("PYTHONPATH") else []))
    return env


def _mpiexec():
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.path.exists(local) else "mpiexec"


def mlp_epoch(ranks, out_dir):
    """Seconds of one MNIST MLP epoch (as the CLI reports it) on `ranks` processes."""
    cmd = [sys.executable, "-m", "nn.train", *MLP, out_dir]
    if ranks > 1:
        cmd = [_mpiexec(), "-n", str(ranks)] + cmd
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=900)
    found = EPOCH_TIME.search(done.stdout + done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"scaling: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return float(found.group(1))


def loader_epoch(workers):
    """Seconds to iterate once over the augmentation-heavy loader with `workers` workers."""
    code = (f"import sys; sys.path.insert(0, {HERE!r}); import scaling_loader as s; "
            f"print(s.epoch_seconds({workers}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"scaling: the loader with {workers} workers failed:\n"
                         f"{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


_SPIN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(3_000_000):\n    x += i\n" \
        "print(time.perf_counter() - t)"


def parallel_capacity():
    """How many cores two processes really get here: the time of one CPU-bound loop alone
    divided by its time when two copies run at once (2.0 on two free cores)."""
    alone = float(subprocess.run([sys.executable, "-c", _SPIN], capture_output=True,
                                 text=True, timeout=300).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    together = max(float(p.communicate(timeout=300)[0]) for p in procs)
    return 2 * alone / together


def _summary(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": times}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--parts", default="mpi,workers")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    parts = set(args.parts.split(","))
    capacity = parallel_capacity()
    results = {"parallel_capacity": capacity}
    print(f"two CPU-bound processes run at {capacity:.2f}x the work of one here "
          f"(2.00 = two free cores)")
    out_dir = os.path.join(ROOT, "runs", "scaling")
    if "mpi" in parts:
        times = {1: [], 2: []}
        for _ in range(args.rounds):
            for ranks in (1, 2):
                times[ranks].append(mlp_epoch(ranks, out_dir))
        one, two = (statistics.median(times[r]) for r in (1, 2))
        results["mnist_mlp_epoch"] = {"1 rank": _summary(times[1]),
                                      "2 ranks": _summary(times[2]),
                                      "speedup": one / two, "efficiency": one / (2 * two)}
        print(f"MNIST MLP epoch (784-256-128-10, batch 128, SGD; one BLAS thread per rank): "
              f"1 rank {one:.2f} s [{min(times[1]):.2f}-{max(times[1]):.2f}], 2 ranks "
              f"{two:.2f} s [{min(times[2]):.2f}-{max(times[2]):.2f}]: speedup {one / two:.2f}x, "
              f"efficiency {100 * one / (2 * two):.0f}%")
    if "workers" in parts:
        times = {0: [], 2: []}
        for _ in range(args.rounds):
            for workers in (0, 2):
                times[workers].append(loader_epoch(workers))
        zero, two = (statistics.median(times[w]) for w in (0, 2))
        results["augmented_loader_epoch"] = {"0 workers": _summary(times[0]),
                                             "2 workers": _summary(times[2]),
                                             "speedup": zero / two}
        print(f"Augmentation-heavy DataLoader epoch: 0 workers {zero:.2f} s "
              f"[{min(times[0]):.2f}-{max(times[0]):.2f}], 2 workers {two:.2f} s "
              f"[{min(times[2]):.2f}-{max(times[2]):.2f}]: speedup {zero / two:.2f}x")
    results["date"] = time.strftime("%Y-%m-%d")
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.json)
    return results


if __name__ == "__main__":
    main()
