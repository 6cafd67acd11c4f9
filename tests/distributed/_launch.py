"""Starting test scripts under `mpiexec -n N` (or as one plain process) from pytest: a hard time
limit, the whole process group killed on timeout or failure, and a clean skip only where MPI
cannot start (mpi4py or mpiexec missing).

    from _launch import run_mpi
    results = run_mpi("_ddp_ranks.py", n=2)   # each rank's last stdout line, parsed as JSON

A launched script runs through `python -m mpi4py`, so an uncaught exception on one rank aborts
every rank (MPI_Abort) instead of leaving the others waiting in a collective.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def mpiexec():
    """The mpiexec next to this Python (the mpich wheel's), or one on PATH; None if absent."""
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def skip_without_mpi():
    """Skips the calling test when mpi4py or mpiexec is missing, naming what to install."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed: pip install 'autodiff[distributed]'")
    if mpiexec() is None:
        pytest.skip("mpiexec is not available: pip install 'autodiff[distributed]' "
                    "(the mpich wheel provides it)")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)] +
                                        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    # one BLAS thread per rank: two ranks share two cores
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def run(args, timeout):
    """Runs args in a new process group; kills the whole group on timeout. Returns the
    CompletedProcess (stdout/stderr as text)."""
    proc = subprocess.Popen(args, cwd=str(ROOT), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(args)} did not finish within {timeout} s (killed)\n"
                    f"stdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def run_mpi(script, n=2, timeout=120, args=(), check=True):
    """Runs tests/distributed/<script> on n ranks (n=None: one process without mpiexec). Returns
    the JSON object each rank printed as its last line starting with '{', in rank order (the
    script prints {"rank": r, ...})."""
    skip_without_mpi()
    cmd = [sys.executable, "-m", "mpi4py", str(HERE / script), *map(str, args)]
    if n is not None:
        cmd = [mpiexec(), "-n", str(n)] + cmd
    done = run(cmd, timeout)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited with {done.returncode}\nstdout:\n"
                    f"{done.stdout[-3000:]}\nstderr:\n{done.stderr[-5000:]}")
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            results[obj.get("rank", 0)] = obj
    return [results[r] for r in sorted(results)] if not check or results else pytest.fail(
        f"{script} printed no JSON result\nstdout:\n{done.stdout[-3000:]}\nstderr:\n"
        f"{done.stderr[-3000:]}")
