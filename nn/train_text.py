"""The text path of `python -m nn.train`: next-character prediction with the models of
nn.charlm on "hello", the word list or the fortunes corpus.

A step draws batch_size random windows of `context` characters from the training stream (the
`shuffle` generator) and minimises the mean cross-entropy of every next character; an epoch is
steps_per_epoch steps. Validation: mean negative log-likelihood in nats per character of the
held-out stream, each character predicted with at least context // 2 characters of history
(except the first ones). The checkpoint's config holds the vocabulary as "vocab" (its chars).
"""
import math
import os
import time

import numpy as np

import autodiff as ad
import nn.functional as F
from nn import charlm, data
from nn.data import datasets
from nn.utils import clip_grad_norm_

# sampling conventions per dataset: start = text the model is primed with (a fresh word / entry),
# stop = the character ending a sample, max_chars = a sample's length limit
TEXT_DATASETS = {
    "hello": dict(start="", prompt="h", stop=None, max_chars=None),  # up to len("hello")
    "words": dict(start="\n", prompt="", stop="\n", max_chars=40),
    "fortunes": dict(start="%\n", prompt="", stop="%", max_chars=400),
}
TEXT_MODELS = ("char-rnn", "char-lstm", "char-gru", "char-transformer")
DEFAULT_MODEL = "char-lstm"

# every key of a text run's config except "vocab"; per-dataset and per-model values override
TEXT_DEFAULTS = dict(dataset="words", model=DEFAULT_MODEL, hidden=[256], embed=32, layers=1,
                     heads=4, context=32, dropout=0.0, optimizer="adam", lr=None,
                     weight_decay=0.0, epochs=4, steps_per_epoch=500, batch_size=32, clip=1.0,
                     seed=0, val_fraction=0.1)
DATASET_DEFAULTS = {
    "hello": dict(context=4, batch_size=1, epochs=2, steps_per_epoch=50, hidden=[16], embed=8),
    "fortunes": dict(context=64, epochs=4),
}
MODEL_DEFAULTS = {
    "char-transformer": dict(embed=64, hidden=[256], layers=2),
}
# Adam/AdamW learning rate when --lr is not given (other optimizers: train.OPTIMIZERS' default)
ADAM_LR = {"char-rnn": 3e-3, "char-lstm": 1e-2, "char-gru": 3e-3, "char-transformer": 3e-3}
HELLO_ADAM_LR = 3e-2


def defaults(dataset, model):
    """The text run's defaults for this dataset and model."""
    d = dict(TEXT_DEFAULTS, dataset=dataset, model=model)
    if dataset != "hello":
        d.update(MODEL_DEFAULTS.get(model, {}))
    d.update(DATASET_DEFAULTS.get(dataset, {}))
    return d


def default_lr(config, fallback):
    if config["optimizer"] not in ("adam", "adamw"):
        return fallback
    return HELLO_ADAM_LR if config["dataset"] == "hello" else ADAM_LR[config["model"]]


def build_model(config):
    """The model named by config["model"] for the vocabulary config["vocab"]."""
    V, hidden = len(config["vocab"]), config["hidden"][0]
    if config["model"] == "char-transformer":
        return charlm.CharTransformer(V, config["context"], d_model=config["embed"],
                                      nhead=config["heads"], num_layers=config["layers"],
                                      dim_feedforward=hidden, dropout=config["dropout"])
    cls = {"char-rnn": charlm.CharRNN, "char-lstm": charlm.CharLSTM,
           "char-gru": charlm.CharGRU}[config["model"]]
    return cls(V, config["embed"], hidden, config["layers"], config["dropout"])


def load_text(config):
    """(vocab, train ids, val ids, description) for config["dataset"]."""
    name = config["dataset"]
    try:
        if name == "hello":
            text = datasets.load_hello()
            vocab = data.CharVocab.from_text(text)
            ids = vocab.encode(text)
            return vocab, ids, ids, f"hello: {text!r} (input {text[:-1]!r}, target {text[1:]!r})"
        if name == "words":
            words = datasets.load_words()
            train, val = data.split_words(words, config["val_fraction"], config["seed"])
            vocab = data.CharVocab.from_text(words, extra="\n")
            tr, va = vocab.encode(data.words_to_text(train)), vocab.encode(data.words_to_text(val))
            return vocab, tr, va, (f"words: {len(train)} train / {len(val)} val words "
                                   f"({len(tr)} / {len(va)} characters)")
        text = datasets.load_fortunes()
    except (datasets.DatasetUnavailableError, datasets.ChecksumError, FileNotFoundError) as e:
        raise SystemExit(f"nn.train: dataset {name!r} is not available: {e}") from None
    vocab = data.CharVocab.from_text(text)
    ids = vocab.encode(text)
    cut = len(ids) - max(1, int(round(len(ids) * config["val_fraction"])))
    return vocab, ids[:cut], ids[cut:], (f"fortunes: {cut} train / {len(ids) - cut} val "
                                        f"characters (the last part held out)")


def sequence_loss(model, x, y, reduction="mean"):
    """Cross-entropy of the logits model(x) against the next characters y, over (B, T)."""
    logits, _ = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                           reduction=reduction)


def train_epoch(model, ids, config, opt, shuffle, progress, prefix):
    """steps_per_epoch steps on random windows of ids -> mean training loss (nats/char)."""
    model.train()
    T, B, steps = config["context"], config["batch_size"], config["steps_per_epoch"]
    windows = np.lib.stride_tricks.sliding_window_view(ids, T + 1)
    loss_sum = 0.0
    for i in range(1, steps + 1):
        w = windows[ad.randint(0, len(windows), (B,), generator=shuffle).numpy()]
        loss = sequence_loss(model, ad.from_numpy(w[:, :-1]), ad.from_numpy(w[:, 1:]))
        opt.zero_grad()
        loss.backward()
        if config["clip"]:
            clip_grad_norm_(model.parameters(), config["clip"])
        opt.step()
        loss_sum += float(loss)
        progress.update(prefix, i, steps, f"loss {loss_sum / i:.4f}")
    return loss_sum / steps


def eval_windows(n, context):
    """(starts, first scored offset) of windows covering the n targets of a stream once each,
    every scored target after the first window having >= context // 2 characters of history."""
    if n <= context:
        return np.array([0]), np.array([0])
    keep = context // 2
    step = context - keep
    starts = list(range(0, n - context + 1, step))
    firsts = [0] + [keep] * (len(starts) - 1)
    covered = starts[-1] + context
    if covered < n:  # the tail: one window flush with the end, scoring what is left
        starts.append(n - context)
        firsts.append(covered - (n - context))
    return np.array(starts), np.array(firsts)


def evaluate(model, ids, context, batch_size=256):
    """Mean negative log-likelihood (nats/char) of ids[1:] given what precedes, in eval mode."""
    n = len(ids) - 1
    T = min(context, n)
    starts, firsts = eval_windows(n, T)
    windows = np.lib.stride_tricks.sliding_window_view(ids, T + 1)
    was_training = model.training
    model.eval()
    total = 0.0
    with ad.no_grad():
        for b in range(0, len(starts), batch_size):
            w = windows[starts[b:b + batch_size]]
            nll = sequence_loss(model, ad.from_numpy(w[:, :-1]), ad.from_numpy(w[:, 1:]),
                                reduction="none").numpy().reshape(len(w), T)
            scored = np.arange(T) >= firsts[b:b + batch_size, None]
            total += float(nll.astype(np.float64)[scored].sum())
    model.train(was_training)
    return total / n


def sample_texts(model, vocab, dataset, n, *, temperature=1.0, seed=0, prompt=None,
                 max_chars=None, greedy=False):
    """n samples with the dataset's conventions (a word, a fortune, a continuation of "h")."""
    spec = TEXT_DATASETS[dataset]
    gen = ad.Generator(seed)
    prompt = spec["prompt"] if prompt is None else prompt
    limit = spec["max_chars"] if max_chars is None else max_chars
    if limit is None:
        limit = max(0, len(datasets.load_hello()) - len(prompt))
    start = spec["start"] if all(c in vocab for c in spec["start"]) else ""
    return [charlm.generate(model, vocab, limit, prompt=prompt, start=start, stop=spec["stop"],
                            temperature=temperature, greedy=greedy, generator=gen)
            for _ in range(n)]


def run(args, config, ckpt, out_dir, progress, say, state=None):
    """Train the text run described by config (resuming from ckpt) -> the result dict; state
    (nn.train.RunState) tracks the last checkpoint for the Ctrl-C message."""
    from nn import train as cli  # the CLI's optimizers and helpers (it imports this module)
    state = state or cli.RunState()
    t0 = time.perf_counter()
    seed = config["seed"]
    ad.manual_seed(seed)
    shuffle = ad.Generator(seed + 1)
    state.doing = "loading the data"
    vocab, train_ids, val_ids, about = load_text(config)
    if ckpt is not None and config.get("vocab") != vocab.chars:
        raise SystemExit(f"nn.train: the {config['dataset']} data gives the vocabulary "
                         f"{vocab.chars!r}, the checkpoint was trained on {config.get('vocab')!r}"
                         f"; the data changed since: start a new run")
    config["vocab"] = vocab.chars
    if len(val_ids) < 2:
        raise SystemExit(f"nn.train: --val-fraction {config['val_fraction']:g} leaves "
                         f"{len(val_ids)} validation characters of {config['dataset']} "
                         f"({len(train_ids)} training); validation needs at least 2: raise "
                         f"--val-fraction (default {TEXT_DEFAULTS['val_fraction']})")
    if len(train_ids) < config["context"] + 1:
        raise SystemExit(f"nn.train: --context {config['context']} needs at least "
                         f"{config['context'] + 1} training characters, {config['dataset']} has "
                         f"{len(train_ids)} (--val-fraction {config['val_fraction']:g}); lower "
                         f"--context or --val-fraction")
    model = build_model(config)
    opt = cli.OPTIMIZERS[config["optimizer"]][0](model.parameters(), config["lr"],
                                             config["weight_decay"])
    start, history, seconds = 0, [], []
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        ad.default_generator.set_state(ckpt["rng"]["default"])
        shuffle.set_state(ckpt["rng"]["shuffle"])
        start, history = ckpt["epoch"], list(ckpt["history"])
        seconds = list(ckpt.get("seconds") or [])
        say(f"resumed {args.resume} at epoch {start}")
    epochs = config["epochs"]
    result = {"epochs": epochs, "start_epoch": start, "history": history, "out": out_dir,
              "config": config, "model": model, "optimizer": opt, "vocab": vocab,
              "graph": None, "curves": None}
    if start >= epochs:
        print(f"nothing to do: {args.resume} is already at epoch {start} of {epochs}")
        result.update(val_loss=history[-1]["val_loss"] if history else float("nan"),
                      samples=[], checkpoint=args.resume, time=time.perf_counter() - t0)
        return result
    V = len(vocab)
    baselines = {"uniform": math.log(V),
                 "bigram": float(data.bigram_nll(train_ids, val_ids, V))}
    n_params = sum(p.numel() for p in model.parameters())
    say(f"{about}; vocabulary {V} characters")
    say(f"{config['model']} with {n_params} parameters; {config['optimizer']} lr "
        f"{config['lr']:g}, batch {config['batch_size']} x {config['context']} characters, "
        f"{config['steps_per_epoch']} steps x {config['epochs']} epochs")
    say(f"baselines (val nats/char): uniform ln {V} = {baselines['uniform']:.4f}, bigram "
        f"{baselines['bigram']:.4f}")
    if args.graph:  # a short sequence: the graph of a whole window is thousands of nodes
        state.doing = "drawing the graph"
        T = min(config["context"], 8)
        x, y = ad.from_numpy(train_ids[None, :T]), ad.from_numpy(train_ids[None, 1:T + 1])
        result["graph"] = cli.render_graph(model, x, y, out_dir, say,
                                           loss_fn=lambda m, xb, yb: sequence_loss(m, xb, yb))
        if result["graph"]:
            say(f"graph: {result['graph']}")

    ckpt_path = os.path.join(out_dir, cli.CHECKPOINT)
    width = len(str(epochs))
    for epoch in range(start + 1, epochs + 1):
        t_epoch = time.perf_counter()
        prefix = f"epoch {epoch:>{width}}/{epochs}"
        state.doing = f"training epoch {epoch}"
        loss = train_epoch(model, train_ids, config, opt, shuffle, progress, prefix)
        state.doing = f"evaluating epoch {epoch}"
        val_loss = evaluate(model, val_ids, config["context"])
        history.append({"epoch": epoch, "loss": loss, "val_loss": val_loss,
                        "lr": float(opt.param_groups[0]["lr"])})
        seconds.append(time.perf_counter() - t_epoch)
        state.doing = f"saving epoch {epoch}"
        cli.save_checkpoint(state, {
            "epoch": epoch, "config": config, "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "rng": {"default": ad.default_generator.get_state(),
                    "shuffle": shuffle.get_state()},
            "history": history, "seconds": seconds},
            ckpt_path, cli.metrics_csv(history, seconds, cli.TEXT_COLUMNS))
        progress.line(f"{prefix} loss {loss:.4f} | val loss {val_loss:.4f} nats/char | "
                      f"{seconds[-1]:.2f}s")

    state.doing = "sampling"
    n_samples = 5 if args.samples is None else args.samples
    temperature = 1.0 if args.temperature is None else args.temperature
    samples = sample_texts(model, vocab, config["dataset"], n_samples, temperature=temperature,
                           seed=seed)
    final = history[-1]["val_loss"]
    result.update(val_loss=final, baselines=baselines, samples=samples,
                  checkpoint=ckpt_path, metrics=os.path.join(out_dir, cli.METRICS))
    if config["dataset"] == "hello":
        result["completion"] = sample_texts(model, vocab, "hello", 1, greedy=True)[0]
    result["time"] = elapsed = time.perf_counter() - t0
    state.doing = "plotting the curves"
    result["curves"], curves_line = cli.finish_curves(history, out_dir, text=True)
    print(f"done: {config['dataset']}/{config['model']}, epochs {start + 1}-{epochs} in "
          f"{elapsed:.1f}s")
    print(f"val loss {final:.4f} nats/char (uniform ln {V} = {baselines['uniform']:.4f}, "
          f"bigram {baselines['bigram']:.4f})")
    print(f"checkpoint: {ckpt_path}")
    print(curves_line)
    if "completion" in result:
        print(f"greedy continuation of 'h': {result['completion']!r}")
    if samples:
        print(f"samples (temperature {temperature:g}, seed {seed}):")
        for s in samples:
            print("  " + s.replace("\n", "\n  "))
    return result
