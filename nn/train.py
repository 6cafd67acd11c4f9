"""Training CLI: `python -m nn.train [options]` trains a classifier, evaluating and checkpointing
every epoch. With no options: an MLP (hidden 128, ReLU) on the bundled 8x8 digits, Adam.

    python -m nn.train                                   # digits, ~98% held-out accuracy
    python -m nn.train --dataset moons --hidden 32,32 --epochs 50 --optimizer momentum
    python -m nn.train --resume runs/digits-mlp/checkpoint.npz --epochs 60
    python -m nn.train --dataset words --model char-lstm # a character language model
    mpiexec -n 2 python -m nn.train --dataset mnist      # data-parallel on 2 processes

Text datasets (hello, words, fortunes) train the character models of nn.charlm (char-rnn,
char-lstm, char-gru, char-transformer) through nn.train_text; see docs/char_models.md.

Each epoch writes OUT/checkpoint.npz atomically with nn.save: {"epoch", "config", "model"
(state dict), "optimizer" (state dict), "rng" (generator states), "history", "best_val_acc",
"best_epoch", "normalization" ({"mean", "scale"} applied to the inputs, or None)}; --resume
continues from it exactly (same split, same batches, same updates).
Under mpiexec the processes train one model data-parallel (nn.train_distributed).
`main(argv)` runs in-process and returns a result dict. Models come from MODELS (name ->
builder(in_shape, n_classes, config) -> Module); add one with register_model.
"""
import argparse
import importlib
import importlib.util
import inspect
import math
import os
import shutil
import sys
import time

import numpy as np

import autodiff as ad
import nn
import nn.functional as F
from nn import optim, train_distributed, train_text
from nn.conv import livestream_cnn
from nn.data import DataLoader, TensorDataset, datasets
from nn.serialization import load, save
from nn.train_distributed import Single

CHECKPOINT = "checkpoint.npz"


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
        return [int(h) for h in text.replace(" ", "").split(",") if h]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated layer widths such as "
                                         f"128,64 (or '' for none), got {text!r}") from None


def _fraction(text):
    v = float(text)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"--val-fraction must be in (0, 1), got {text}")
    return v


def _positive(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return v


def build_parser():
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog="python -m nn.train",
        description="Train a classifier, or a character language model on a text dataset "
                    "(hello, words, fortunes), with autodiff/nn; evaluates on a held-out split "
                    "and checkpoints (OUT/checkpoint.npz) every epoch. Started by `mpiexec -n N` "
                    "(autodiff[distributed]), the N processes train data-parallel.")
    # every option defaults to None so that --resume can tell what was given explicitly
    p.add_argument("--dataset", choices=sorted(DATASETS) + sorted(train_text.TEXT_DATASETS),
                   help=f"(default {d['dataset']}; with a char-* model: words)")
    p.add_argument("--model", choices=sorted(MODELS) + list(train_text.TEXT_MODELS),
                   help=f"(default {d['model']}; with a text dataset: "
                        f"{train_text.DEFAULT_MODEL})")
    p.add_argument("--hidden", type=_hidden, metavar="W1,W2,...",
                   help="hidden layer widths (default 128); a text model takes one width: the "
                        "recurrent state (default 256) or the transformer's feed-forward width "
                        "(default 256)")
    p.add_argument("--activation", help=f"hidden activation: relu, tanh, sigmoid, gelu, "
                                        f"leaky_relu, elu, ... (default {d['activation']})")
    p.add_argument("--dropout", type=float, help="drop probability after each hidden layer "
                                                 "(text: between and after the recurrent "
                                                 "layers, inside the transformer) (default 0)")
    p.add_argument("--batchnorm", action="store_const", const=True,
                   help="BatchNorm1d after each hidden Linear")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                   help="momentum/nesterov = SGD with momentum 0.9 (default adam)")
    p.add_argument("--lr", type=float, help="learning rate (default: per optimizer - sgd 0.1, "
                                            "momentum/nesterov/adagrad 0.05, others 1e-3)")
    p.add_argument("--weight-decay", type=float, help="L2 weight decay (default 0)")
    p.add_argument("--epochs", type=_positive, help=f"total epochs (default {d['epochs']}; "
                                                    f"text 4)")
    p.add_argument("--batch-size", type=_positive, help=f"(default {d['batch_size']})")
    p.add_argument("--seed", type=int, help="seeds init, split, shuffling, dropout (default 0)")
    p.add_argument("--val-fraction", type=_fraction, help="held-out fraction (default 0.2; "
                   "text 0.1: words split by word, fortunes the last part of the text)")
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction,
                   help="z-score the inputs with the training split's statistics (default on)")
    t = p.add_argument_group("text models (char-rnn, char-lstm, char-gru, char-transformer)")
    t.add_argument("--context", type=_positive, help="characters per training window, also the "
                   "transformer's maximum context (default 32; fortunes 64; hello 4)")
    t.add_argument("--embed", type=_positive, help="character embedding width (default 32); the "
                   "transformer's model width (default 64)")
    t.add_argument("--layers", type=_positive, help="recurrent or transformer layers (default 1; "
                   "char-transformer 2)")
    t.add_argument("--heads", type=_positive, help="attention heads of char-transformer "
                   "(default 4)")
    t.add_argument("--steps-per-epoch", type=_positive, help="batches of random windows per "
                   "epoch (default 500; hello 50)")
    t.add_argument("--clip", type=float, help="clip the gradient norm to this (default 1.0; 0 "
                   "turns clipping off)")
    t.add_argument("--samples", type=int, metavar="N", help="samples printed at the end "
                   "(default 5)")
    t.add_argument("--temperature", type=float, help="their sampling temperature (default 1.0)")
    p.add_argument("--out", help="output directory (default runs/<dataset>-<model>)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    p.add_argument("--graph", action="store_true", help="write the computational graph of one "
                   "batch's loss to OUT/graph.svg (or OUT/graph.dot without graphviz)")
    p.add_argument("--quiet", action="store_true", help="no progress output, summary only")
    p.add_argument("--threads", type=_positive, metavar="N",
                   help="BLAS threads for matrix products (default: numpy's choice; 1 per "
                        "process under mpiexec)")
    return p


# --- progress output --------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr: redrawn with \\r on a TTY, plain lines otherwise."""

    def __init__(self, stream=None, enabled=True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0

    def update(self, prefix, done, total, metrics):
        if not self.tty:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 20
        fill = int(width * done / max(total, 1))
        bar = "#" * fill + "." * (width - fill)
        self.stream.write(f"\r{prefix} [{bar}] {done}/{total} {metrics}\033[K")
        self.stream.flush()

    def line(self, text):
        if not self.enabled:
            return
        self.stream.write(("\r" if self.tty else "") + text + ("\033[K\n" if self.tty else "\n"))
        self.stream.flush()


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


def _config(args):
    """The run's configuration: defaults < checkpoint (on resume) < options given explicitly."""
    keys = set(DEFAULTS) | set(train_text.TEXT_DEFAULTS)
    given = {k: v for k, v in vars(args).items()
             if k in keys and v is not None}
    ckpt = None
    saved = {}
    if args.resume:
        try:
            ckpt = load(args.resume)
        except (OSError, ValueError) as e:  # missing, truncated, foreign: the message says which
            raise SystemExit(f"nn.train: cannot resume: {e}") from None
        if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
            raise SystemExit(f"nn.train: {args.resume} is an nn.save file but not a training "
                             f"checkpoint (no 'config'/'model' entries)")
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


def interrupted(epoch, last_saved, progress):
    """The SystemExit for Ctrl-C in `epoch`: where the last checkpoint is and how to resume."""
    progress.line("")
    if last_saved is None:
        return SystemExit(f"interrupted in epoch {epoch}, before any checkpoint was written")
    return SystemExit(f"interrupted in epoch {epoch}; {last_saved} holds epoch {epoch - 1}: "
                      f"continue with python -m nn.train --resume {last_saved}")


def main(argv=None):
    """Parse argv, train, and return {'best_val_acc', 'final_val_acc', 'checkpoint', ...}.
    Under `mpiexec -n N` the N processes train one model data-parallel (nn.train_distributed)."""
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        try:
            ad.set_num_threads(args.threads)
        except ImportError as e:
            raise SystemExit(f"nn.train: --threads: {e}") from None
    world = train_distributed.world(args.threads)
    try:
        return _main(args, world)
    except BaseException as e:  # noqa: BLE001  (one rank failing must not leave others waiting)
        if world.size == 1:
            raise
        world.fail(e)


def _main(args, world):
    config, ckpt, is_text = _config(args)
    out_dir = args.out or (os.path.dirname(args.resume) or "." if args.resume else
                           os.path.join("runs", f"{config['dataset']}-{config['model']}"))
    if world.is_main:
        os.makedirs(out_dir, exist_ok=True)
    quiet = args.quiet or not world.is_main
    progress = Progress(enabled=not quiet)
    say = (lambda s: None) if quiet else print
    if is_text:
        if world.size > 1:
            raise SystemExit("nn.train: the character models train in one process; run them "
                             "without mpiexec (data-parallel runs take the image and tabular "
                             "models)")
        return train_text.run(args, config, ckpt, out_dir, progress, say)
    t0 = time.perf_counter()

    seed = config["seed"]
    ad.manual_seed(seed)  # init and dropout draw from the default generator
    shuffle = ad.Generator(seed + 1)
    try:
        X, y, n_classes, test = DATASETS[config["dataset"]](seed)
    except (datasets.DatasetUnavailableError, ModuleNotFoundError, FileNotFoundError) as e:
        raise SystemExit(f"nn.train: dataset {config['dataset']!r} is not available: {e}") \
            from None
    train_idx, val_idx = _split(len(y), config["val_fraction"], seed)
    Xtr, ytr, Xval, yval = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
    norm = None
    if config["standardize"]:
        mean, scale = standardizer(Xtr)
        norm = {"mean": mean, "scale": scale}
        Xtr, Xval = [ad.from_numpy((t.data - mean) / scale) for t in (Xtr, Xval)]
        if test is not None:
            test = (ad.from_numpy((test[0].data - mean) / scale), test[1])
    loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=config["batch_size"], shuffle=True,
                        generator=shuffle)
    if config["model"] not in MODELS:
        raise SystemExit(f"nn.train: unknown model {config['model']!r}; known: {sorted(MODELS)}")
    model = MODELS[config["model"]](tuple(X.shape[1:]), n_classes, config)
    net = world.wrap(model)  # (under mpiexec: DistributedDataParallel, SyncBatchNorm)
    model = getattr(net, "module", net)
    factory = OPTIMIZERS[config["optimizer"]][0]
    opt = factory(model.parameters(), config["lr"], config["weight_decay"])

    start, history, best, best_epoch = 0, [], -1.0, 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        ad.default_generator.set_state(ckpt["rng"]["default"])
        shuffle.set_state(ckpt["rng"]["shuffle"])
        start, history = ckpt["epoch"], list(ckpt["history"])
        best, best_epoch = ckpt["best_val_acc"], ckpt["best_epoch"]
        say(f"resumed {args.resume} at epoch {start}")
    n_params = sum(p.numel() for p in model.parameters())
    say(f"{config['dataset']}: {len(ytr)} train / {len(yval)} val, {n_classes} classes; "
        f"{config['model']} with {n_params} parameters; {config['optimizer']} lr "
        f"{config['lr']:g}, batch {config['batch_size']}, {config['epochs']} epochs" +
        (f"; data-parallel over {world.size} processes" if world.size > 1 else ""))
    graph = None
    if args.graph and world.is_main:
        graph = render_graph(model, Xtr[:8], ytr[:8], out_dir, say)
        if graph:
            say(f"graph: {graph}")

    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    epochs = config["epochs"]
    width = len(str(epochs))
    last_saved = args.resume
    for epoch in range(start + 1, epochs + 1):
        t_epoch = time.perf_counter()
        prefix = f"epoch {epoch:>{width}}/{epochs}"
        world.epoch_start(seed, epoch)
        try:
            loss, acc = train_epoch(net, loader, opt, progress, prefix, world)
        except KeyboardInterrupt:
            raise interrupted(epoch, last_saved, progress) from None
        val_loss, val_acc = evaluate(model, Xval, yval, world=world)
        if val_acc > best:
            best, best_epoch = val_acc, epoch
        history.append({"epoch": epoch, "loss": loss, "acc": acc,
                        "val_loss": val_loss, "val_acc": val_acc})
        if world.is_main:
            save({"epoch": epoch, "config": config, "model": model.state_dict(),
                  "optimizer": opt.state_dict(),
                  "rng": {"default": ad.default_generator.get_state(),
                          "shuffle": shuffle.get_state()},
                  "history": history, "best_val_acc": best, "best_epoch": best_epoch,
                  "normalization": norm}, ckpt_path)
        last_saved = ckpt_path
        progress.line(f"{prefix} loss {loss:.4f} acc {100 * acc:.2f}% | "
                      f"val loss {val_loss:.4f} acc {100 * val_acc:.2f}% | "
                      f"{time.perf_counter() - t_epoch:.2f}s")

    elapsed = time.perf_counter() - t0
    final = history[-1]["val_acc"] if history else float("nan")
    result = {"best_val_acc": best, "best_epoch": best_epoch, "final_val_acc": final,
              "epochs": epochs, "start_epoch": start, "history": history, "time": elapsed,
              "checkpoint": ckpt_path if epochs > start else args.resume, "out": out_dir,
              "graph": graph,
              "config": config, "model": model, "optimizer": opt}
    if test is not None:
        result["test_loss"], result["test_acc"] = evaluate(model, *test, world=world)
    if quiet:
        return result
    print(f"done: {config['dataset']}/{config['model']}, epochs {start + 1}-{epochs} in "
          f"{elapsed:.1f}s")
    if epochs > start:
        print(f"best val acc {100 * best:.2f}% (epoch {best_epoch}), final val acc "
              f"{100 * final:.2f}%" + (f", test acc {100 * result['test_acc']:.2f}%"
                                       if test is not None else ""))
        print(f"checkpoint: {ckpt_path}")
    else:
        print(f"nothing to do: the checkpoint is already at epoch {start} of {epochs}")
    return result


if __name__ == "__main__":
    main()
