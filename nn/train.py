"""Training CLI: `python -m nn.train [options]` trains a classifier, evaluating and checkpointing
every epoch. With no options: an MLP (hidden 128, ReLU) on the bundled 8x8 digits, Adam.

    python -m nn.train                                   # digits, ~98% held-out accuracy
    python -m nn.train --dataset moons --hidden 32,32 --epochs 50 --optimizer momentum
    python -m nn.train --resume runs/digits-mlp/checkpoint.safetensors --epochs 60
    python -m nn.evaluate runs/digits-mlp/checkpoint.safetensors   # validation and test sets
    python -m nn.train --dataset words --model char-lstm # a character language model
    mpiexec -n 2 python -m nn.train --dataset mnist      # data-parallel on 2 processes

Text datasets (hello, words, fortunes) train the character models of nn.charlm (char-rnn,
char-lstm, char-gru, char-transformer) through nn.train_text; see docs/char_models.md.

Each epoch writes OUT/checkpoint.safetensors atomically with nn.save: {"epoch", "config",
"model" (state dict), "optimizer" (state dict), "rng" (generator states), "history", "seconds",
"best_val_acc", "best_epoch", "normalization" ({"mean", "scale"} applied to the inputs, or
None)}, and OUT/metrics.csv (one row per epoch); the run ends with OUT/curves.png (matplotlib).
--resume continues from it exactly (same split, same batches, same updates); an older
checkpoint.npz resumes too. Ctrl-C exits with code 130 and one line naming the checkpoint and
the --resume command; options are validated before anything runs (exit code 2). See docs/cli.md.
Under mpiexec the processes train one model data-parallel (nn.train_distributed).
`main(argv)` runs in-process and returns a result dict. Models come from MODELS (name ->
builder(in_shape, n_classes, config) -> Module); add one with register_model.
"""
import argparse
import contextlib
import importlib
import importlib.util
import inspect
import io
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time

import numpy as np

import autodiff as ad
import nn
import nn.functional as F
from nn import optim, train_distributed, train_text
from nn._progress import Progress
from nn.conv import livestream_cnn
from nn.data import DataLoader, TensorDataset, datasets
from nn.data.datasets.cache import atomic_write
from nn.serialization import load, save
from nn.train_distributed import Single

CHECKPOINT = "checkpoint.safetensors"
METRICS = "metrics.csv"
CURVES = "curves.png"
PLOTS_EXTRA = "pip install 'autodiff[plots]'"
# MLP hidden activations (nn.MLP's names)
ACTIVATIONS = ("elu", "gelu", "identity", "leaky_relu", "linear", "prelu", "relu", "sigmoid",
               "silu", "softplus", "tanh")


# --- datasets: name -> () -> (X, y, n_classes, test (X, y) or None) ---------------------------

def _synthetic(maker, classes, **kwargs):
    def load_fn(seed):
        X, y = maker(seed=seed, **kwargs)
        return X, y, classes, None
    return load_fn


def _idx_dataset(loader):
    def load_fn(seed):
        X, y = loader(train=True)
        return X, y, 10, loader(train=False)
    return load_fn


DATASETS = {
    "digits": lambda seed: (*datasets.load_digits(), 10, None),
    "moons": _synthetic(datasets.make_moons, 2, n_samples=1000, noise=0.2),
    "circles": _synthetic(datasets.make_circles, 2, n_samples=1000, noise=0.1, factor=0.5),
    "spirals": _synthetic(datasets.make_spirals, 3, n_samples=900, n_classes=3, noise=0.2),
    "mnist": _idx_dataset(datasets.load_mnist),
    "fashion-mnist": _idx_dataset(datasets.load_fashion_mnist),
}


# --- models: name -> builder(in_shape, n_classes, config) -> nn.Module ------------------------

def build_mlp(in_shape, n_classes, config):
    """[Flatten] -> MLP(hidden, activation, dropout, batchnorm) -> n_classes logits."""
    mlp = nn.MLP(math.prod(in_shape), config["hidden"], n_classes,
                 activation=config["activation"], dropout=config["dropout"],
                 batchnorm=config["batchnorm"])
    return nn.Sequential(nn.Flatten(), mlp) if len(in_shape) > 1 else mlp


def build_cnn(in_shape, n_classes, config):
    """The livestream CNN (nn.conv.livestream_cnn): two 5x5 conv + max-pool stages, FC hidden."""
    return livestream_cnn(tuple(in_shape), n_classes, hidden=config["hidden"][-1])


MODELS = {"mlp": build_mlp, "cnn": build_cnn}


def register_model(name, builder):
    """Make `--model name` build builder(in_shape, n_classes, config) (e.g. a CNN)."""
    MODELS[name] = builder


# --- optimizers: name -> (factory(params, lr, weight_decay), default lr) ----------------------

OPTIMIZERS = {
    "sgd": (lambda ps, lr, wd: optim.SGD(ps, lr=lr, weight_decay=wd), 0.1),
    "momentum": (lambda ps, lr, wd: optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=wd), 0.05),
    "nesterov": (lambda ps, lr, wd: optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True,
                                              weight_decay=wd), 0.05),
    "adagrad": (lambda ps, lr, wd: optim.Adagrad(ps, lr=lr, weight_decay=wd), 0.05),
    "rmsprop": (lambda ps, lr, wd: optim.RMSprop(ps, lr=lr, weight_decay=wd), 1e-3),
    "adam": (lambda ps, lr, wd: optim.Adam(ps, lr=lr, weight_decay=wd), 1e-3),
    "adamw": (lambda ps, lr, wd: optim.AdamW(ps, lr=lr, weight_decay=wd), 1e-3),
}

DEFAULTS = dict(dataset="digits", model="mlp", hidden=[128], activation="relu", dropout=0.0,
                batchnorm=False, optimizer="adam", lr=None, weight_decay=0.0, epochs=30,
                batch_size=32, seed=0, val_fraction=0.2, standardize=True)
# options that may change when resuming; the others define the run and must match
RESUMABLE = {"epochs"}
# options that only mean something for one kind of run (text options: see nn.train_text)
IMAGE_ONLY = {"activation", "batchnorm", "standardize"}
TEXT_ONLY = {"context", "embed", "layers", "heads", "steps_per_epoch", "clip", "samples",
             "temperature"}


def _hidden(text):
    try:
        widths = [int(h) for h in text.replace(" ", "").split(",") if h]
    except ValueError:
        widths = None
    if widths is None or any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive layer widths such "
                                         f"as 128,64 (or '' for none), got {text!r}")
    return widths


def number(kind, low=None, high=None, *, low_open=False, high_open=False):
    """An argparse type: an int (kind=int) or finite float in the range [low, high] (an open end
    where low_open/high_open); out of range -> a usage error stating the range."""
    if low is not None and high is not None:
        what = (f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")
        what = f"a number in {what}" if kind is float else f"an integer in {what}"
    elif low is not None:
        what = f"{'an integer' if kind is int else 'a number'} {'>' if low_open else '>='} {low:g}"
    else:
        what = "an integer" if kind is int else "a finite number"

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            v = None
        ok = v is not None and (kind is int or math.isfinite(v))
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    parse.__name__ = what  # (argparse names the type by it)
    return parse


_positive = number(int, 1)
_fraction = number(float, 0, 1, low_open=True, high_open=True)


def _activation(text):
    name = text.lower()
    if name not in ACTIVATIONS:
        raise argparse.ArgumentTypeError(f"unknown activation {text!r}; choose one of "
                                         f"{', '.join(ACTIVATIONS)}")
    return name


def build_parser():
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog="python -m nn.train",
        description="Train a classifier, or a character language model on a text dataset "
                    "(hello, words, fortunes), with autodiff/nn; evaluates on a held-out split "
                    "and checkpoints (OUT/checkpoint.safetensors, OUT/metrics.csv) every epoch, "
                    "plots OUT/curves.png at the end. Ctrl-C stops with the --resume command "
                    "(exit code 130). Started by `mpiexec -n N` (autodiff[distributed]), the N "
                    "processes train data-parallel. See docs/cli.md.")
    # every option defaults to None so that --resume can tell what was given explicitly
    p.add_argument("--dataset", choices=sorted(DATASETS) + sorted(train_text.TEXT_DATASETS),
                   help=f"(default {d['dataset']}; with a char-* model: words)")
    p.add_argument("--model", choices=sorted(MODELS) + list(train_text.TEXT_MODELS),
                   help=f"(default {d['model']}; with a text dataset: "
                        f"{train_text.DEFAULT_MODEL})")
    p.add_argument("--hidden", type=_hidden, metavar="W1,W2,...",
                   help="hidden layer widths >= 1 (default 128); a text model takes one width: "
                        "the recurrent state (default 256) or the transformer's feed-forward "
                        "width (default 256)")
    p.add_argument("--activation", type=_activation, metavar="NAME",
                   help=f"hidden activation: {', '.join(ACTIVATIONS)} "
                        f"(default {d['activation']})")
    p.add_argument("--dropout", type=number(float, 0, 1, high_open=True),
                   help="drop probability in [0, 1) after each hidden layer (text: between and "
                        "after the recurrent layers, inside the transformer) (default 0)")
    p.add_argument("--batchnorm", action="store_const", const=True,
                   help="BatchNorm1d after each hidden Linear")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                   help="momentum/nesterov = SGD with momentum 0.9 (default adam)")
    p.add_argument("--lr", type=number(float, 0, low_open=True),
                   help="learning rate > 0 (default: per optimizer - sgd 0.1, "
                        "momentum/nesterov/adagrad 0.05, others 1e-3)")
    p.add_argument("--weight-decay", type=number(float, 0), help="L2 weight decay >= 0 "
                                                                   "(default 0)")
    p.add_argument("--epochs", type=_positive, help=f"total epochs >= 1 (default {d['epochs']}; "
                                                    f"text 4)")
    p.add_argument("--batch-size", type=_positive, help=f">= 1 (default {d['batch_size']}); "
                                                        f"with --eval-only the evaluation batch")
    p.add_argument("--seed", type=number(int, 0), help="integer >= 0; seeds init, split, "
                                                       "shuffling, dropout (default 0)")
    p.add_argument("--val-fraction", type=_fraction, help="held-out fraction in (0, 1) (default "
                   "0.2; text 0.1: words split by word, fortunes the last part of the text)")
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction,
                   help="z-score the inputs with the training split's statistics (default on)")
    t = p.add_argument_group("text models (char-rnn, char-lstm, char-gru, char-transformer)")
    t.add_argument("--context", type=_positive, help="characters per training window, also the "
                   "transformer's maximum context, >= 1 (default 32; fortunes 64; hello 4)")
    t.add_argument("--embed", type=_positive, help="character embedding width >= 1 (default "
                   "32); the transformer's model width (default 64)")
    t.add_argument("--layers", type=_positive, help="recurrent or transformer layers >= 1 "
                   "(default 1; char-transformer 2)")
    t.add_argument("--heads", type=_positive, help="attention heads of char-transformer, "
                   "dividing --embed (default 4)")
    t.add_argument("--steps-per-epoch", type=_positive, help="batches of random windows per "
                   "epoch >= 1 (default 500; hello 50)")
    t.add_argument("--clip", type=number(float, 0), help="clip the gradient norm to this, >= 0 "
                   "(default 1.0; 0 turns clipping off)")
    t.add_argument("--samples", type=number(int, 0), metavar="N", help="samples printed at the "
                   "end, >= 0 (default 5)")
    t.add_argument("--temperature", type=number(float, 0, low_open=True),
                   help="their sampling temperature, > 0 (default 1.0)")
    p.add_argument("--out", help="output directory, created if needed; must be writable "
                                 "(default runs/<dataset>-<model>; with --resume the "
                                 "checkpoint's directory)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT "
                   "(a checkpoint.safetensors, or an older checkpoint.npz)")
    p.add_argument("--eval-only", action="store_true", help="with --resume: only evaluate the "
                   "checkpoint on the validation and test sets (as python -m nn.evaluate)")
    p.add_argument("--graph", action="store_true", help="write the computational graph of one "
                   "batch's loss to OUT/graph.svg (or OUT/graph.dot without graphviz)")
    p.add_argument("--quiet", action="store_true", help="no progress output, summary only")
    p.add_argument("--threads", type=_positive, metavar="N",
                   help="BLAS threads for matrix products, >= 1 (default: numpy's choice; 1 per "
                        "process under mpiexec)")
    return p


# --- the run ---------------------------------------------------------------------------------

def _kind(args, saved):
    """(dataset, model, is_text) from the options given, else the checkpoint, else defaults."""
    dataset = args.dataset or saved.get("dataset")
    model = args.model or saved.get("model")
    text_data, text_model = (dataset in train_text.TEXT_DATASETS,
                             model in train_text.TEXT_MODELS)
    if dataset is None or model is None:
        is_text = text_data or text_model
        if is_text:
            dataset = dataset or train_text.TEXT_DEFAULTS["dataset"]
            model = model or train_text.DEFAULT_MODEL
        else:
            dataset, model = dataset or DEFAULTS["dataset"], model or DEFAULTS["model"]
        text_data, text_model = is_text, is_text
    if text_data != text_model:
        raise SystemExit(f"nn.train: --model {model} does not train on --dataset {dataset}: "
                         f"the text datasets ({', '.join(sorted(train_text.TEXT_DATASETS))}) "
                         f"take the character models ({', '.join(train_text.TEXT_MODELS)}); "
                         f"the others ({', '.join(sorted(DATASETS))}) take "
                         f"{', '.join(sorted(MODELS))}")
    return dataset, model, text_data


def load_checkpoint(path, prog, what="cannot read the checkpoint"):
    """The training checkpoint at path (a dict with "config", "model", "epoch"), or SystemExit
    naming the problem: missing, unreadable, malformed, or an nn.save file of something else."""
    try:
        ckpt = load(path)
    except (OSError, ValueError) as e:  # missing, truncated, foreign: the message says which
        raise SystemExit(f"{prog}: {what}: {e}") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("config"), dict) \
            or not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("epoch"), int):
        raise SystemExit(f"{prog}: {path} is an nn.save file but not a training checkpoint (no "
                         f"'config'/'model'/'epoch' entries); give OUT/{CHECKPOINT} of a "
                         f"python -m nn.train run")
    return ckpt


def _config(args):
    """The run's configuration: defaults < checkpoint (on resume) < options given explicitly."""
    keys = set(DEFAULTS) | set(train_text.TEXT_DEFAULTS)
    given = {k: v for k, v in vars(args).items()
             if k in keys and v is not None}
    ckpt = None
    saved = {}
    if args.resume:
        ckpt = load_checkpoint(args.resume, "nn.train", "cannot resume")
        saved = ckpt["config"]
    dataset, model, is_text = _kind(args, saved)
    wrong = IMAGE_ONLY if is_text else TEXT_ONLY
    for k in sorted(wrong):
        if getattr(args, k) is not None:
            raise SystemExit(f"nn.train: --{k.replace('_', '-')} applies to "
                             f"{'image/tabular' if is_text else 'text (char-*)'} models only, "
                             f"not to {model} on {dataset}; drop it")
    if args.resume:
        for k, v in given.items():
            if k not in RESUMABLE and saved.get(k) != v:
                raise SystemExit(f"nn.train: --{k.replace('_', '-')} {v} differs from the "
                                 f"checkpoint's {saved.get(k)}; a resumed run keeps its "
                                 f"configuration (only --epochs, --out may change). Drop the "
                                 f"option or start a new run.")
    config = train_text.defaults(dataset, model) if is_text else dict(DEFAULTS)
    config.update(saved)
    config.update(given)
    config["dataset"], config["model"] = dataset, model
    if is_text and len(config["hidden"]) != 1:
        raise SystemExit(f"nn.train: a text model takes one --hidden width, got "
                         f"{','.join(map(str, config['hidden'])) or 'none'}")
    if config["model"] == "char-transformer" and config["embed"] % config["heads"]:
        raise SystemExit(f"nn.train: char-transformer splits --embed {config['embed']} into "
                         f"--heads {config['heads']} equal parts; choose --heads dividing "
                         f"--embed (e.g. {math.gcd(config['embed'], config['heads'])})")
    if config["lr"] is None:
        fallback = OPTIMIZERS[config["optimizer"]][1]
        config["lr"] = train_text.default_lr(config, fallback) if is_text else fallback
    return config, ckpt, is_text


def _split(n, fraction, seed):
    """(train indices, val indices): a seeded random permutation, the last part held out."""
    perm = np.random.default_rng([seed, 1]).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return perm[n_val:], perm[:n_val]


def standardizer(Xtr):
    """(mean, scale) of the training inputs: per feature for flat data, one pair for images;
    scale = std + 0.3 * mean(std), so near-constant features (digit borders) are not blown up."""
    x = Xtr.data.astype(np.float64)
    if x.ndim > 2:
        mean, std = np.array(x.mean()), np.array(x.std())
    else:
        mean, std = x.mean(0), x.std(0)
    return mean.astype(Xtr.dtype), (std + 0.3 * std.mean()).astype(Xtr.dtype)


def train_epoch(model, loader, opt, progress, prefix, world=Single()):
    """One pass over loader (cross-entropy, opt.step per batch) -> (mean loss, accuracy).
    Under mpiexec each rank trains on its part of every batch (see nn.train_distributed)."""
    model.train()
    seen, loss_sum, correct = 0, 0.0, 0
    for i, (xb, yb) in enumerate(loader, 1):
        n_global = len(yb)
        if n_global < world.size:
            continue  # a last batch too small to give every rank an example
        xb, yb = world.shard(xb, yb)
        logits = model(xb)
        loss = world.loss(logits, yb, n_global)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(yb)
        loss_sum += float(loss) * n_global / world.size  # (this rank's sum of losses)
        correct += int((logits.data.argmax(1) == yb.data).sum())
        progress.update(prefix, i, len(loader),
                        f"loss {loss_sum / seen:.4f} acc {100 * correct / seen:.2f}%")
    seen, loss_sum, correct = world.total(seen, loss_sum, correct)
    return loss_sum / max(seen, 1), correct / max(seen, 1)


def evaluate(model, X, y, batch_size=2048, world=Single()):
    """(mean cross-entropy, accuracy) of model on (X, y), in eval mode without a graph (under
    mpiexec each rank evaluates its part and the sums are combined)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    X, y = world.shard(X, y)
    with ad.no_grad():
        for start in range(0, len(y), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            logits = model(xb)
            total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.data.argmax(1) == yb.data).sum())
    model.train(was_training)
    n, total_loss, correct = world.total(len(y), total_loss, correct)
    n = max(n, 1)
    return total_loss / n, correct / n


def render_graph(model, xb, yb, out_dir, say, loss_fn=None):
    """Write the graph of one batch's loss (loss_fn(model, xb, yb), default the cross-entropy
    of model(xb)) to out_dir/graph.svg (graphviz) or graph.dot."""
    if importlib.util.find_spec("autodiff.viz") is None:
        say("note: --graph skipped: autodiff.viz is not available in this build")
        return None
    viz = importlib.import_module("autodiff.viz")
    state = ad.default_generator.get_state()
    was_training = model.training
    model.eval()  # no dropout draws, no batch-norm statistics updates: the run is unchanged
    try:
        loss = loss_fn(model, xb, yb) if loss_fn else F.cross_entropy(model(xb), yb)
        options = {}
        if "names" in inspect.signature(viz.to_dot).parameters:  # label parameters by name
            options["names"] = dict(model.named_parameters())
        if hasattr(viz, "draw_graph") and shutil.which("dot"):
            try:
                svg = viz.draw_graph(loss, **options).pipe(format="svg")
            except ImportError:
                svg = None  # the graphviz Python package is missing: fall back to DOT
            if svg is not None:
                path = os.path.join(out_dir, "graph.svg")
                with open(path, "wb") as f:
                    f.write(svg)
                return path
        path = os.path.join(out_dir, "graph.dot")
        with open(path, "w") as f:
            f.write(viz.to_dot(loss, **options))
        return path
    finally:
        model.train(was_training)
        ad.default_generator.set_state(state)


# --- the run directory: checkpoint, metrics.csv, curves.png; interrupts ----------------------

def prepare_out(out_dir, prog="nn.train"):
    """Create out_dir and make sure a file can be written in it, else SystemExit saying why
    (before any training, so a run never dies at its first checkpoint)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SystemExit(f"{prog}: --out {out_dir} is an existing file, not a directory; give a "
                         f"directory (it is created if needed)")
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise SystemExit(f"{prog}: --out {out_dir} cannot be written ({e.strerror or e}); choose "
                         f"a directory you can write to") from None


class RunState:
    """What the run is doing and where its last consistent checkpoint is (for Ctrl-C)."""

    def __init__(self, prog="nn.train"):
        self.prog, self.doing = prog, "starting"
        self.path = self.epoch = self.total = self.saved_total = None

    def saved(self, path, epoch, total):
        self.path, self.epoch, self.saved_total = path, epoch, total

    def message(self):
        """The one line printed on Ctrl-C."""
        head = f"{self.prog}: interrupted while {self.doing}"
        if self.path is None:
            return f"{head}; no checkpoint was written yet: run the same command to start over"
        path = shlex.quote(str(self.path))
        if self.epoch is not None and self.total is not None and self.epoch >= self.total:
            return (f"{head}; {self.path} holds the finished run (epoch {self.epoch} of "
                    f"{self.total}): evaluate it with python -m nn.evaluate {path}")
        resume = f"python -m nn.train --resume {path}"
        if self.total is not None and self.total != self.saved_total:
            resume += f" --epochs {self.total}"
        held = "is unchanged" if self.epoch is None else f"holds epoch {self.epoch}"
        return f"{head}; {self.path} {held}: continue with {resume}"


@contextlib.contextmanager
def deferred_sigint():
    """Hold a Ctrl-C that arrives inside the block until the block has finished, so that a
    checkpoint and the files written with it are all written or none (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(signal.SIGINT, None)  # (the default handler raises KeyboardInterrupt)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


IMAGE_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
TEXT_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds")  # losses in nats/char
_HISTORY_KEYS = {"train_loss": "loss", "train_acc": "acc"}


def metrics_csv(history, seconds, columns):
    """The text of metrics.csv: a header, then one row per epoch of history (floats at full
    precision; seconds aligned on the last epochs, empty for epochs an older checkpoint did
    not time)."""
    seconds = [None] * (len(history) - len(seconds)) + list(seconds)[-len(history):]
    lines = [",".join(columns)]
    for h, sec in zip(history, seconds):
        row = dict(h, seconds=sec)
        cells = []
        for c in columns:
            v = row.get(_HISTORY_KEYS.get(c, c))
            cells.append("" if v is None else repr(float(v)) if isinstance(v, float) else str(v))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def save_checkpoint(state, obj, path, metrics_text):
    """Write the checkpoint and OUT/metrics.csv, each atomically, with Ctrl-C held until both
    are on disk; then record the checkpoint in state."""
    with deferred_sigint():
        save(obj, path)
        atomic_write(os.path.join(os.path.dirname(path), METRICS),
                     metrics_text.encode("utf-8"))
        state.saved(path, obj["epoch"], obj["config"]["epochs"])


def write_curves(history, path, text=False):
    """Plot train/val loss (and accuracy) per epoch to path (PNG); ImportError without
    matplotlib. Uses matplotlib's Figure directly, so no pyplot backend is selected."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    epochs = [h["epoch"] for h in history]
    panels = 1 if text else 2
    fig = Figure(figsize=(4.5 * panels, 3.4))
    fig.subplots_adjust(left=0.15 / panels, right=0.98, bottom=0.14, top=0.96, wspace=0.3)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    axes[0].plot(epochs, [h["loss"] for h in history], marker=".", label="train")
    axes[0].plot(epochs, [h["val_loss"] for h in history], marker=".", label="validation")
    axes[0].set_ylabel("nats per character" if text else "cross-entropy loss")
    if not text:
        axes[1].plot(epochs, [100 * h["acc"] for h in history], marker=".", label="train")
        axes[1].plot(epochs, [100 * h["val_acc"] for h in history], marker=".",
                     label="validation")
        axes[1].set_ylabel("accuracy (%)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write(path, buf.getvalue())
    return path


def finish_curves(history, out_dir, text=False):
    """(OUT/curves.png or None, the summary line about it)."""
    path = os.path.join(out_dir, CURVES)
    try:
        write_curves(history, path, text)
    except ImportError:
        return None, f"note: {CURVES} skipped: matplotlib is not installed ({PLOTS_EXTRA})"
    return path, f"metrics: {os.path.join(out_dir, METRICS)}; curves: {path}"


# --- the run ---------------------------------------------------------------------------------

def prepare_data(config, world=Single(), normalization=None, prog="nn.train"):
    """(Xtr, ytr, Xval, yval, test (X, y) or None, n_classes, normalization) as the run sees
    them: the seeded split, inputs standardised with the training split's statistics (or the
    given normalization {"mean", "scale"}, e.g. a checkpoint's)."""
    seed = config["seed"]
    try:
        X, y, n_classes, test = DATASETS[config["dataset"]](seed)
    except (datasets.DatasetUnavailableError, datasets.ChecksumError, ModuleNotFoundError,
            FileNotFoundError) as e:
        raise SystemExit(f"{prog}: dataset {config['dataset']!r} is not available: {e}") \
            from None
    n = len(y)
    train_idx, val_idx = _split(n, config["val_fraction"], seed)
    if len(train_idx) < world.size or len(val_idx) < 1:
        need = f"at least {world.size} training" if world.size > 1 else "at least one training"
        raise SystemExit(f"{prog}: --val-fraction {config['val_fraction']:g} splits the {n} "
                         f"{config['dataset']} examples into {len(train_idx)} training and "
                         f"{len(val_idx)} validation examples; a run needs {need} and one "
                         f"validation example: choose --val-fraction in (0, "
                         f"{(n - world.size) / n:.4g}] (default {DEFAULTS['val_fraction']})")
    Xtr, ytr, Xval, yval = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
    norm = None
    if config["standardize"]:
        if normalization is not None:
            mean, scale = (np.asarray(getattr(v, "data", v)) for v in
                           (normalization["mean"], normalization["scale"]))
        else:
            mean, scale = standardizer(Xtr)
        norm = {"mean": mean, "scale": scale}
        Xtr, Xval = [ad.from_numpy(((t.data - mean) / scale).astype(t.dtype)) for t in (Xtr, Xval)]
        if test is not None:
            test = (ad.from_numpy(((test[0].data - mean) / scale).astype(test[0].dtype)),
                    test[1])
    return Xtr, ytr, Xval, yval, test, n_classes, norm


def build_model(config, in_shape, n_classes, prog="nn.train"):
    """The image/tabular model config["model"] names (from MODELS)."""
    if config["model"] not in MODELS:
        raise SystemExit(f"{prog}: unknown model {config['model']!r}; known: {sorted(MODELS)} "
                         f"(add one with nn.train.register_model)")
    return MODELS[config["model"]](tuple(in_shape), n_classes, config)


def main(argv=None):
    """Parse argv, train, and return {'best_val_acc', 'final_val_acc', 'checkpoint', ...}.
    Under `mpiexec -n N` the N processes train one model data-parallel (nn.train_distributed).
    Ctrl-C: SystemExit(130) after one line on stderr naming the checkpoint to --resume."""
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        try:
            ad.set_num_threads(args.threads)
        except ImportError as e:
            raise SystemExit(f"nn.train: --threads: {e}") from None
    if args.eval_only:
        return _eval_only(args)
    world = train_distributed.world(args.threads)
    try:
        return _main(args, world)
    except BaseException as e:  # noqa: BLE001  (one rank failing must not leave others waiting)
        if world.size == 1 or (isinstance(e, SystemExit) and e.code == 130):
            raise  # (Ctrl-C reaches every rank from mpiexec: each stops by itself)
        world.fail(e)


def _eval_only(args):
    if not args.resume:
        raise SystemExit("nn.train: --eval-only evaluates the checkpoint given with --resume "
                         "CHECKPOINT; add it (or run python -m nn.evaluate CHECKPOINT)")
    allowed = {"resume", "eval_only", "batch_size", "quiet", "threads"}
    extra = [k for k, v in vars(args).items() if k not in allowed and v not in (None, False)]
    if extra:
        raise SystemExit(f"nn.train: --eval-only takes --resume, --batch-size, --quiet and "
                         f"--threads only; drop --{extra[0].replace('_', '-')}")
    from nn import evaluate as ev
    return ev.run(args.resume, batch_size=args.batch_size, quiet=args.quiet, prog="nn.train")


def _main(args, world):
    progress = Progress(enabled=not (args.quiet or not world.is_main))
    state = RunState()
    try:
        return _run(args, world, progress, state)
    except KeyboardInterrupt:
        progress.close()
        if world.is_main:
            sys.stdout.flush()
            print(state.message(), file=sys.stderr, flush=True)
        raise SystemExit(130) from None


def _run(args, world, progress, state):
    state.doing = "reading the options" if not args.resume else "reading the checkpoint"
    config, ckpt, is_text = _config(args)
    state.total = config["epochs"]
    if ckpt is not None:
        state.saved(args.resume, ckpt["epoch"], ckpt["config"].get("epochs"))
    out_dir = args.out or (os.path.dirname(args.resume) or "." if args.resume else
                           os.path.join("runs", f"{config['dataset']}-{config['model']}"))
    if is_text and world.size > 1:
        raise SystemExit("nn.train: the character models train in one process; run them "
                         "without mpiexec (data-parallel runs take the image and tabular "
                         "models)")
    if world.is_main:
        prepare_out(out_dir)
    quiet = args.quiet or not world.is_main
    say = (lambda s: None) if quiet else print
    if is_text:
        return train_text.run(args, config, ckpt, out_dir, progress, say, state)
    t0 = time.perf_counter()

    seed = config["seed"]
    ad.manual_seed(seed)  # init and dropout draw from the default generator
    shuffle = ad.Generator(seed + 1)
    state.doing = "loading the data"
    Xtr, ytr, Xval, yval, test, n_classes, norm = prepare_data(config, world)
    loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=config["batch_size"], shuffle=True,
                        generator=shuffle)
    model = build_model(config, Xtr.shape[1:], n_classes)
    net = world.wrap(model)  # (under mpiexec: DistributedDataParallel, SyncBatchNorm)
    model = getattr(net, "module", net)
    factory = OPTIMIZERS[config["optimizer"]][0]
    opt = factory(model.parameters(), config["lr"], config["weight_decay"])

    start, history, seconds, best, best_epoch = 0, [], [], -1.0, 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        ad.default_generator.set_state(ckpt["rng"]["default"])
        shuffle.set_state(ckpt["rng"]["shuffle"])
        start, history = ckpt["epoch"], list(ckpt["history"])
        seconds = list(ckpt.get("seconds") or [])
        best, best_epoch = ckpt["best_val_acc"], ckpt["best_epoch"]
        say(f"resumed {args.resume} at epoch {start}")
    n_params = sum(p.numel() for p in model.parameters())
    epochs = config["epochs"]
    summary = world.is_main
    if start >= epochs:
        if summary:
            print(f"nothing to do: {args.resume} is already at epoch {start} of {epochs}")
        return {"best_val_acc": best, "best_epoch": best_epoch,
                "final_val_acc": history[-1]["val_acc"] if history else float("nan"),
                "epochs": epochs, "start_epoch": start, "history": history,
                "time": time.perf_counter() - t0, "checkpoint": args.resume, "out": out_dir,
                "graph": None, "curves": None, "config": config, "model": model,
                "optimizer": opt}
    say(f"{config['dataset']}: {len(ytr)} train / {len(yval)} val, {n_classes} classes; "
        f"{config['model']} with {n_params} parameters; {config['optimizer']} lr "
        f"{config['lr']:g}, batch {config['batch_size']}, {config['epochs']} epochs" +
        (f"; data-parallel over {world.size} processes" if world.size > 1 else ""))
    graph = None
    if args.graph and world.is_main:
        state.doing = "drawing the graph"
        graph = render_graph(model, Xtr[:8], ytr[:8], out_dir, say)
        if graph:
            say(f"graph: {graph}")

    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    width = len(str(epochs))
    for epoch in range(start + 1, epochs + 1):
        t_epoch = time.perf_counter()
        prefix = f"epoch {epoch:>{width}}/{epochs}"
        state.doing = f"training epoch {epoch}"
        world.epoch_start(seed, epoch)
        loss, acc = train_epoch(net, loader, opt, progress, prefix, world)
        state.doing = f"evaluating epoch {epoch}"
        val_loss, val_acc = evaluate(model, Xval, yval, world=world)
        if val_acc > best:
            best, best_epoch = val_acc, epoch
        history.append({"epoch": epoch, "loss": loss, "acc": acc, "val_loss": val_loss,
                        "val_acc": val_acc, "lr": float(opt.param_groups[0]["lr"])})
        seconds.append(time.perf_counter() - t_epoch)
        state.doing = f"saving epoch {epoch}"
        if world.is_main:
            save_checkpoint(state, {
                "epoch": epoch, "config": config, "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "rng": {"default": ad.default_generator.get_state(),
                        "shuffle": shuffle.get_state()},
                "history": history, "seconds": seconds, "best_val_acc": best,
                "best_epoch": best_epoch, "normalization": norm},
                ckpt_path, metrics_csv(history, seconds, IMAGE_COLUMNS))
        progress.line(f"{prefix} loss {loss:.4f} acc {100 * acc:.2f}% | "
                      f"val loss {val_loss:.4f} acc {100 * val_acc:.2f}% | "
                      f"{seconds[-1]:.2f}s")

    final = history[-1]["val_acc"]
    result = {"best_val_acc": best, "best_epoch": best_epoch, "final_val_acc": final,
              "epochs": epochs, "start_epoch": start, "history": history,
              "checkpoint": ckpt_path, "out": out_dir, "graph": graph, "curves": None,
              "metrics": os.path.join(out_dir, METRICS),
              "config": config, "model": model, "optimizer": opt}
    if test is not None:
        state.doing = "evaluating the test set"
        result["test_loss"], result["test_acc"] = evaluate(model, *test, world=world)
    result["time"] = elapsed = time.perf_counter() - t0
    if not summary:
        return result
    state.doing = "plotting the curves"
    result["curves"], curves_line = finish_curves(history, out_dir)
    print(f"done: {config['dataset']}/{config['model']}, epochs {start + 1}-{epochs} in "
          f"{elapsed:.1f}s")
    print(f"best val acc {100 * best:.2f}% (epoch {best_epoch}), final val acc "
          f"{100 * final:.2f}% (loss {history[-1]['val_loss']:.4f})" +
          (f", test acc {100 * result['test_acc']:.2f}% (loss {result['test_loss']:.4f})"
           if test is not None else ""))
    print(f"checkpoint: {ckpt_path}")
    print(curves_line)
    return result


if __name__ == "__main__":
    main()
