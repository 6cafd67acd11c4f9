"""python -m nn.evaluate CHECKPOINT (and nn.train --eval-only --resume CHECKPOINT): rebuilds the
model from the checkpoint's config, reloads the data with the run's split and normalisation, and
reports the numbers the training run reported; bad or foreign files give one clear line."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import evaluate, train
from nn.serialization import load, save

REPO = Path(nn.__file__).resolve().parent.parent
TINY = ["--dataset", "moons", "--hidden", "8", "--batch-size", "100", "--quiet"]


@pytest.fixture(autouse=True)
def _no_curves(request, monkeypatch):
    """Rendering curves.png takes ~0.2 s a run: only the tests named for it draw the file."""
    if "curves" not in request.node.name:
        monkeypatch.setattr(train, "write_curves", lambda history, path, text=False: path)


@pytest.fixture
def with_test_set(monkeypatch):
    """A small dataset with a test split, as MNIST has, under the name 'moons'."""
    gen = ad.Generator(3)
    X, y = ad.randn(150, 2, generator=gen) * 3 + 1, ad.randint(0, 3, (150,), generator=gen)
    Xt, yt = ad.randn(40, 2, generator=gen) * 3 + 1, ad.randint(0, 3, (40,), generator=gen)
    monkeypatch.setitem(train.DATASETS, "moons", lambda seed: (X, y, 3, (Xt, yt)))


def test_evaluate_reports_what_training_reported(tmp_path, capsys, with_test_set):
    run = train.main(TINY + ["--epochs", "2", "--dropout", "0.3", "--out", str(tmp_path)])
    capsys.readouterr()
    got = evaluate.main([run["checkpoint"]])
    last = run["history"][-1]
    assert got["val_acc"] == last["val_acc"] and got["n_val"] == 30
    assert got["val_loss"] == pytest.approx(last["val_loss"], rel=1e-6)
    assert got["test_acc"] == run["test_acc"] and got["n_test"] == 40
    assert got["test_loss"] == pytest.approx(run["test_loss"], rel=1e-6)
    assert (got["epoch"], got["epochs"], got["dataset"], got["model"]) == (2, 2, "moons", "mlp")
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{run['checkpoint']}: moons/mlp after epoch 2 of 2",
                   f"val  loss {last['val_loss']:.4f} acc {100 * last['val_acc']:.2f}% "
                   f"(30 examples)",
                   f"test loss {run['test_loss']:.4f} acc {100 * run['test_acc']:.2f}% "
                   f"(40 examples)"]
    # another batch size: the same numbers up to float sums
    small = evaluate.main([run["checkpoint"], "--batch-size", "7", "--quiet"])
    assert small["val_acc"] == got["val_acc"] and small["test_acc"] == got["test_acc"]
    assert small["val_loss"] == pytest.approx(got["val_loss"], rel=1e-5)
    assert capsys.readouterr().out == ""


def test_eval_only_through_nn_train_is_the_same(tmp_path, capsys):
    run = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path)])
    a = evaluate.main([run["checkpoint"], "--quiet"])
    capsys.readouterr()
    b = train.main(["--eval-only", "--resume", run["checkpoint"]])
    assert a == b and "test" not in a
    out = capsys.readouterr().out
    assert "val  loss" in out and "test: moons has no test set" in out
    assert load(run["checkpoint"])["epoch"] == 1  # evaluation writes nothing


def test_evaluate_uses_the_saved_normalisation(tmp_path):
    run = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path)])
    ckpt = load(run["checkpoint"])
    assert ckpt["normalization"] is not None
    ckpt["normalization"]["mean"] = ckpt["normalization"]["mean"] + 50.0  # a different shift
    save(ckpt, tmp_path / "shifted.safetensors")
    shifted = evaluate.main([str(tmp_path / "shifted.safetensors"), "--quiet"])
    assert shifted["val_loss"] != pytest.approx(run["history"][-1]["val_loss"], rel=1e-3)


def test_evaluate_a_text_checkpoint(tmp_path, capsys):
    run = train.main(["--dataset", "hello", "--model", "char-gru", "--steps-per-epoch", "5",
                      "--epochs", "1", "--quiet", "--out", str(tmp_path)])
    capsys.readouterr()
    got = evaluate.main([run["checkpoint"]])
    assert got["val_loss"] == pytest.approx(run["val_loss"], rel=1e-6) and got["n_val"] == 4
    assert "val_acc" not in got
    assert capsys.readouterr().out.splitlines()[1] == (f"val loss {run['val_loss']:.4f} "
                                                       f"nats/char (4 characters)")


def test_bad_and_foreign_checkpoints(tmp_path, capsys):
    cases = {"missing": (tmp_path / "nope.safetensors", r"cannot read the checkpoint: .*nope"),
             "garbage": (tmp_path / "bad.safetensors", r"cannot read the checkpoint: .*bad"),
             "foreign": (tmp_path / "x.safetensors", r"not a training checkpoint")}
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 5 + b"garbage")
    nn.save({"w": np.ones(2)}, tmp_path / "x.safetensors")
    for name, (path, message) in cases.items():
        with pytest.raises(SystemExit, match=message):
            evaluate.main([str(path)])
    run = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path / "r")])
    ckpt = load(run["checkpoint"])
    ckpt["config"]["hidden"] = [5]  # weights of width 8 for a config of width 5
    save(ckpt, tmp_path / "altered.safetensors")
    with pytest.raises(SystemExit, match="the saved weights do not fit the model its config"):
        evaluate.main([str(tmp_path / "altered.safetensors")])
    ckpt["config"]["dataset"] = "cifar"
    save(ckpt, tmp_path / "cifar.safetensors")
    with pytest.raises(SystemExit, match="trained on 'cifar', which this build does not know"):
        evaluate.main([str(tmp_path / "cifar.safetensors")])


def test_module_entry_point(tmp_path):
    run = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path)])
    good = subprocess.run([sys.executable, "-m", "nn.evaluate", run["checkpoint"]], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "val  loss" in good.stdout, good.stderr
    bad = subprocess.run([sys.executable, "-m", "nn.evaluate", str(tmp_path / "none")],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("nn.evaluate: cannot read the checkpoint")
