"""Sampling CLI: `python -m nn.sample CHECKPOINT [options]` rebuilds a character model from a
checkpoint written by `python -m nn.train --dataset words|fortunes|hello --model char-*` and
prints samples: for the word list one word per line, for fortunes one entry followed by a "%"
line, for hello the continuation of the prompt.

    python -m nn.sample runs/words-char-lstm/checkpoint.safetensors --n 20 --temperature 0.8

`main(argv)` runs in-process and returns the list of samples. Exit codes: 0 done, 1 unusable
checkpoint or prompt, 2 bad option value, 130 Ctrl-C (one line, nothing written).
"""
import argparse
import sys

from nn import train_text
from nn.train import CHECKPOINT, number
from nn.data import CharVocab
from nn.serialization import load


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m nn.sample",
        description="Print samples from a character language model trained by python -m "
                    "nn.train (a char-rnn, char-lstm, char-gru or char-transformer checkpoint).")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help=f"OUT/{CHECKPOINT} (or an older checkpoint.npz) of a text run")
    p.add_argument("--n", type=number(int, 0), default=10, metavar="N",
                   help="number of samples, >= 0 (default 10)")
    p.add_argument("--temperature", type=number(float, 0, low_open=True), default=1.0,
                   help="> 0; below 1 sharpens the distribution, above 1 flattens it "
                        "(default 1.0; --greedy for the most likely characters)")
    p.add_argument("--seed", type=number(int, 0), default=0,
                   help="seeds the sampling, >= 0 (default 0)")
    p.add_argument("--prompt", help="text each sample starts with (hello: default 'h')")
    p.add_argument("--max-chars", type=number(int, 0), metavar="N", help="characters generated "
                   "per sample at most, >= 0 (default: words 40, fortunes 400, hello: up to 5 in "
                   "all)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely "
                   "character (every sample is then the same)")
    return p


def load_model(path):
    """(model in eval mode, vocab, config) from a text training checkpoint."""
    try:
        ckpt = load(path)
    except (OSError, ValueError) as e:
        raise SystemExit(f"nn.sample: cannot read the checkpoint: {e}") from None
    config = ckpt.get("config") if isinstance(ckpt, dict) else None
    if not isinstance(config, dict) or "model" not in ckpt:
        raise SystemExit(f"nn.sample: {path} is not a training checkpoint (no 'config'/'model' "
                         f"entries); give OUT/{CHECKPOINT} of a python -m nn.train run")
    if config.get("model") not in train_text.TEXT_MODELS or "vocab" not in config:
        raise SystemExit(f"nn.sample: {path} holds a {config.get('model')} trained on "
                         f"{config.get('dataset')}, not a character model; train one with "
                         f"python -m nn.train --dataset words --model char-lstm")
    model = train_text.build_model(config)
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise SystemExit(f"nn.sample: {path}: the saved weights do not fit the model its config "
                         f"describes ({e})") from None
    model.eval()
    return model, CharVocab(config["vocab"]), config


def main(argv=None):
    """Parse argv, print the samples and return them as a list of strings."""
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("nn.sample: interrupted; nothing was written (the checkpoint is unchanged)",
              file=sys.stderr, flush=True)
        raise SystemExit(130) from None


def _main(args):
    model, vocab, config = load_model(args.checkpoint)
    unknown = sorted(set(args.prompt or "") - set(vocab.chars))
    if unknown:
        raise SystemExit(f"nn.sample: the prompt has characters the model never saw: "
                         f"{''.join(unknown)!r}; its vocabulary is {vocab.chars!r}")
    samples = train_text.sample_texts(model, vocab, config["dataset"], args.n,
                                      temperature=args.temperature, seed=args.seed,
                                      prompt=args.prompt, max_chars=args.max_chars,
                                      greedy=args.greedy)
    for s in samples:
        print(s)
        if config["dataset"] == "fortunes":
            print("%")
    return samples


if __name__ == "__main__":
    main()
