"""Evaluate-only CLI: `python -m nn.evaluate CHECKPOINT [--batch-size N] [--quiet]` rebuilds the
model of a `python -m nn.train` checkpoint from its config, reloads the dataset with the run's
split and normalisation, and prints loss and accuracy on the validation set and on the test set
(MNIST, Fashion-MNIST); a character model's checkpoint gets its validation nats/char.

    python -m nn.evaluate runs/digits-mlp/checkpoint.safetensors
    python -m nn.train --eval-only --resume runs/digits-mlp/checkpoint.safetensors  # the same

`main(argv)` runs in-process and returns {"val_loss", "val_acc", "test_loss", "test_acc", ...}
(the keys that apply). Exit codes: 0 done, 1 unusable checkpoint or data, 2 bad option,
130 Ctrl-C.
"""
import argparse
import sys

from nn import train as cli
from nn import train_text

__all__ = ["evaluate_checkpoint", "main", "run"]


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m nn.evaluate",
        description="Evaluate a checkpoint written by python -m nn.train on its validation set "
                    "and, where the dataset has one, its test set.")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help=f"OUT/{cli.CHECKPOINT} (or an older checkpoint.npz) of a training run")
    p.add_argument("--batch-size", type=cli.number(int, 1), metavar="N",
                   help="evaluation batch size, >= 1 (default 2048 examples; text: 256 windows)")
    p.add_argument("--quiet", action="store_true", help="print nothing; main() returns the "
                                                        "numbers")
    return p


def _load_state(model, state, path, prog):
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise SystemExit(f"{prog}: {path}: the saved weights do not fit the model its config "
                         f"describes ({e}); the file was altered or written by another "
                         f"version") from None


def evaluate_checkpoint(path, batch_size=None, prog="nn.evaluate"):
    """The numbers of the checkpoint at path: {"dataset", "model", "epoch", "val_loss",
    "val_acc", "n_val", and "test_loss", "test_acc", "n_test" when there is a test set};
    text runs: {"val_loss" (nats/char), "n_val" (characters)}. SystemExit on a bad file."""
    ckpt = cli.load_checkpoint(path, prog)
    config = dict(ckpt["config"])
    missing = [k for k in ("dataset", "model", "seed", "val_fraction") if k not in config]
    if missing:
        raise SystemExit(f"{prog}: {path} is a training checkpoint without {missing} in its "
                         f"config; it cannot be evaluated")
    out = {"checkpoint": str(path), "dataset": config["dataset"], "model": config["model"],
           "epoch": ckpt["epoch"], "epochs": config.get("epochs")}
    if config["model"] in train_text.TEXT_MODELS:
        if config["dataset"] not in train_text.TEXT_DATASETS or "vocab" not in config:
            raise SystemExit(f"{prog}: {path}: a {config['model']} checkpoint without a text "
                             f"dataset and vocabulary in its config")
        vocab, _, val_ids, _ = train_text.load_text(config)
        if vocab.chars != config["vocab"]:
            raise SystemExit(f"{prog}: the {config['dataset']} data gives the vocabulary "
                             f"{vocab.chars!r}, the checkpoint was trained on "
                             f"{config['vocab']!r}: the data changed since")
        model = train_text.build_model(config)
        _load_state(model, ckpt["model"], path, prog)
        out["val_loss"] = train_text.evaluate(model, val_ids, config["context"],
                                              batch_size=batch_size or 256)
        out["n_val"] = len(val_ids) - 1
        return out
    if config["dataset"] not in cli.DATASETS:
        raise SystemExit(f"{prog}: {path} was trained on {config['dataset']!r}, which this "
                         f"build does not know (known: {sorted(cli.DATASETS)})")
    config.setdefault("standardize", ckpt.get("normalization") is not None)
    Xtr, ytr, Xval, yval, test, n_classes, _ = cli.prepare_data(
        config, normalization=ckpt.get("normalization"), prog=prog)
    model = cli.build_model(config, Xtr.shape[1:], n_classes, prog=prog)
    _load_state(model, ckpt["model"], path, prog)
    bs = batch_size or 2048
    out["val_loss"], out["val_acc"] = cli.evaluate(model, Xval, yval, batch_size=bs)
    out["n_val"] = len(yval)
    if test is not None:
        out["test_loss"], out["test_acc"] = cli.evaluate(model, *test, batch_size=bs)
        out["n_test"] = len(test[1])
    return out


def report(out):
    """The printed lines for evaluate_checkpoint's numbers."""
    of = f" of {out['epochs']}" if out.get("epochs") else ""
    lines = [f"{out['checkpoint']}: {out['dataset']}/{out['model']} after epoch "
             f"{out['epoch']}{of}"]
    if "val_acc" not in out:
        lines.append(f"val loss {out['val_loss']:.4f} nats/char ({out['n_val']} characters)")
        return lines
    lines.append(f"val  loss {out['val_loss']:.4f} acc {100 * out['val_acc']:.2f}% "
                 f"({out['n_val']} examples)")
    if "test_acc" in out:
        lines.append(f"test loss {out['test_loss']:.4f} acc {100 * out['test_acc']:.2f}% "
                     f"({out['n_test']} examples)")
    else:
        lines.append(f"test: {out['dataset']} has no test set")
    return lines


def run(path, batch_size=None, quiet=False, prog="nn.evaluate"):
    """Evaluate and print; Ctrl-C -> one line and SystemExit(130) (nothing is written)."""
    try:
        out = evaluate_checkpoint(path, batch_size, prog)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print(f"{prog}: interrupted while evaluating {path}; nothing was written (the "
              f"checkpoint is unchanged)", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    if not quiet:
        print("\n".join(report(out)))
    return out


def main(argv=None):
    """Parse argv, evaluate the checkpoint, print and return the numbers."""
    args = build_parser().parse_args(argv)
    return run(args.checkpoint, args.batch_size, args.quiet)


if __name__ == "__main__":
    main()
