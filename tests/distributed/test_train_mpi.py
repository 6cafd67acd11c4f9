"""`mpiexec -n 2 python -m nn.train ...`: data-parallel runs of the CLI take the steps one
process takes, resume exactly, print once, and a failing rank ends the job with its error."""
import sys

import numpy as np
import pytest

import nn
from _launch import mpiexec, run, skip_without_mpi

BASE = ["--dataset", "moons", "--model", "mlp", "--hidden", "16,16", "--batch-size", "50",
        "--optimizer", "sgd", "--lr", "0.2"]


def _train(tmp_path, name, args, ranks):
    skip_without_mpi()
    out = tmp_path / name
    cmd = [sys.executable, "-m", "nn.train", *BASE, *args, "--out", str(out)]
    if ranks > 1:
        cmd = [mpiexec(), "-n", str(ranks)] + cmd
    done = run(cmd, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def _state(out):
    return nn.load(str(out / "checkpoint.safetensors"))


def _assert_same_run(a, b, tol):
    sa, sb = _state(a), _state(b)
    assert sa["epoch"] == sb["epoch"]
    for k, v in sa["model"].items():
        np.testing.assert_allclose(sb["model"][k].data, v.data, rtol=tol, atol=tol, err_msg=k)
    for ha, hb in zip(sa["history"], sb["history"]):
        for key in ("loss", "acc", "val_loss", "val_acc"):
            assert ha[key] == pytest.approx(hb[key], rel=tol, abs=tol), key


def test_two_ranks_take_the_steps_of_one_process_batchnorm_included(tmp_path):
    args = ["--epochs", "3", "--batchnorm"]  # BatchNorm -> SyncBatchNorm: whole-batch statistics
    one, _ = _train(tmp_path, "one", args, 1)
    two, done = _train(tmp_path, "two", args, 2)
    _assert_same_run(one, two, 1e-4)  # float32, sums in another order
    assert done.stdout.count("done: moons/mlp") == 1  # rank 0 alone prints
    assert "data-parallel over 2 processes" in done.stdout


def test_resume_under_mpi_continues_exactly_with_dropout(tmp_path):
    args = ["--dropout", "0.2"]
    full, _ = _train(tmp_path, "full", args + ["--epochs", "3"], 2)
    part, _ = _train(tmp_path, "part", args + ["--epochs", "2"], 2)
    skip_without_mpi()
    done = run([mpiexec(), "-n", "2", sys.executable, "-m", "nn.train", "--resume",
                str(part / "checkpoint.safetensors"), "--epochs", "3"], timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_same_run(full, part, 1e-6)


def test_a_failing_rank_ends_the_job_with_its_error_instead_of_hanging(tmp_path):
    skip_without_mpi()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    # only rank 0 creates the output directory: it fails while rank 1 goes on to train
    done = run([mpiexec(), "-n", "2", sys.executable, "-m", "nn.train", *BASE, "--epochs", "50",
                "--out", str(blocker)], timeout=120)
    assert done.returncode != 0
    assert "rank 0 of 2" in done.stderr and "is an existing file, not a directory" in done.stderr


def test_character_models_refuse_mpi_with_a_clear_error(tmp_path):
    skip_without_mpi()
    done = run([mpiexec(), "-n", "2", sys.executable, "-m", "nn.train", "--dataset", "hello",
                "--model", "char-rnn", "--out", str(tmp_path / "t")], timeout=120)
    assert done.returncode != 0
    assert "character models train in one process" in done.stderr
