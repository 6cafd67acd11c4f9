"""python -m nn.train, in-process: runs, checkpoints, resumes exactly, reaches 97% on digits."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import nn
from nn import train
from nn.serialization import load

from _optional import requires_digits

TINY = ["--dataset", "moons", "--hidden", "16,16", "--batch-size", "64", "--quiet"]


def _run(tmp_path, *extra, name="run"):
    return train.main(TINY + ["--out", str(tmp_path / name)] + list(extra))


def test_runs_and_writes_a_checkpoint(tmp_path):
    result = _run(tmp_path, "--epochs", "2")
    ckpt_path = result["checkpoint"]
    assert ckpt_path == str(tmp_path / "run" / "checkpoint.npz") and os.path.isfile(ckpt_path)
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    assert 0.5 < result["final_val_acc"] <= 1.0
    assert result["best_val_acc"] >= result["final_val_acc"]
    ckpt = load(ckpt_path)
    assert ckpt["epoch"] == 2 and ckpt["config"]["hidden"] == [16, 16]
    assert set(ckpt) >= {"model", "optimizer", "rng", "history", "best_val_acc", "normalization"}
    assert list(ckpt["model"]) == list(result["model"].state_dict())
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 1e-3
    assert not [f for f in os.listdir(tmp_path / "run") if f.endswith(".tmp")]


def test_resume_continues_exactly(tmp_path):
    # dropout draws, batch-norm buffers and momentum state must all survive the checkpoint
    opts = ["--dropout", "0.2", "--batchnorm", "--optimizer", "nesterov"]
    straight = _run(tmp_path, "--epochs", "3", *opts, name="straight")
    first = _run(tmp_path, "--epochs", "1", *opts, name="resumed")
    resumed = train.main(["--resume", first["checkpoint"], "--epochs", "3", "--quiet"])
    assert resumed["start_epoch"] == 1 and resumed["out"] == str(tmp_path / "resumed")
    assert resumed["history"] == straight["history"]
    a, b = straight["model"].state_dict(), resumed["model"].state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data, err_msg=k)
    assert load(resumed["checkpoint"])["epoch"] == 3


def test_resume_keeps_the_configuration(tmp_path):
    first = _run(tmp_path, "--epochs", "1")
    with pytest.raises(SystemExit, match="--hidden"):
        train.main(["--resume", first["checkpoint"], "--hidden", "8", "--quiet"])
    done = train.main(["--resume", first["checkpoint"], "--epochs", "1", "--quiet"])
    assert done["history"] == first["history"] and done["checkpoint"] == first["checkpoint"]


def test_resume_from_a_foreign_file(tmp_path):
    nn.save({"w": np.ones(2)}, tmp_path / "x.npz")
    with pytest.raises(SystemExit, match="not a training checkpoint"):
        train.main(["--resume", str(tmp_path / "x.npz"), "--quiet"])


@pytest.mark.parametrize("name", sorted(train.OPTIMIZERS))
def test_every_optimizer_choice_trains(tmp_path, name):
    result = _run(tmp_path, "--epochs", "3", "--optimizer", name)
    assert result["history"][-1]["loss"] < result["history"][0]["loss"] * 1.05
    assert np.isfinite(result["history"][-1]["loss"])


def test_progress_and_summary_output(tmp_path, capsys):
    train.main(["--dataset", "circles", "--epochs", "2", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert "epoch 1/2 loss" in err and "val loss" in err and "\r" not in err  # not a TTY
    assert "best val acc" in out and "checkpoint:" in out and "circles: 800 train / 200 val" in out


def test_graph_option(tmp_path):
    result = _run(tmp_path, "--epochs", "1", "--graph")
    if importlib.util.find_spec("autodiff.viz") is None:
        assert result["graph"] is None  # skipped with a one-line note
    else:
        assert result["graph"].endswith(("graph.svg", "graph.dot"))
        assert os.path.getsize(result["graph"]) > 0


def test_register_model(tmp_path):
    def linear(in_shape, n_classes, config):
        return nn.Linear(int(np.prod(in_shape)), n_classes)

    train.register_model("softmax", linear)
    try:
        result = _run(tmp_path, "--epochs", "1", "--model", "softmax")
        assert len(list(result["model"].parameters())) == 2
    finally:
        del train.MODELS["softmax"]


def test_threads_option_sets_blas_threads_and_gives_the_same_run(tmp_path):
    pytest.importorskip("threadpoolctl")
    import autodiff as ad
    before = ad.get_num_threads()
    try:
        one = _run(tmp_path, "--epochs", "1", "--threads", "1", name="one")
        assert ad.get_num_threads() == 1
        ad.set_num_threads(2)
        two = _run(tmp_path, "--epochs", "1", "--threads", "2", name="two")
        assert ad.get_num_threads() == 2
    finally:
        ad.set_num_threads(before)
    assert one["history"][0]["loss"] == pytest.approx(two["history"][0]["loss"], rel=1e-5)


@pytest.mark.parametrize("argv", [["--val-fraction", "1.5"], ["--dataset", "cifar"],
                                  ["--hidden", "a,b"], ["--epochs", "0"], ["--threads", "0"],
                                  ["--threads", "two"]])
def test_bad_options(argv, capsys):
    with pytest.raises(SystemExit):
        train.main(argv)
    assert "error" in capsys.readouterr().err


@requires_digits  # the default dataset
def test_default_run_reaches_97_percent(tmp_path):
    """The no-argument run (digits, MLP 128, Adam, 30 epochs); ~2 s. Deselect with
    -k 'not default_run'."""
    result = train.main(["--out", str(tmp_path), "--quiet"])
    assert result["config"]["dataset"] == "digits" and result["epochs"] == 30
    assert result["final_val_acc"] >= 0.97, result["history"][-1]
    assert result["time"] < 60


def test_module_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nn.train", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "--resume CHECKPOINT" in proc.stdout


def test_interrupt_points_at_the_checkpoint(tmp_path, monkeypatch):
    real = train.train_epoch
    calls = []

    def interrupted_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(train, "train_epoch", interrupted_second_epoch)
    with pytest.raises(SystemExit, match=r"interrupted in epoch 2; .*checkpoint.npz holds epoch 1"):
        _run(tmp_path, "--epochs", "3")
    assert load(tmp_path / "run" / "checkpoint.npz")["epoch"] == 1


def test_unreadable_resume_file(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(SystemExit, match=r"cannot resume: .*bad\.npz"):
        train.main(["--resume", str(tmp_path / "bad.npz"), "--quiet"])
