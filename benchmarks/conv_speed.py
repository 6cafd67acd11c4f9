"""conv2d forward+backward speed vs PyTorch CPU (run in a separate process); prints ratios.

    python benchmarks/conv_speed.py [repeats] [--threads N]   # both sides use N threads (1)
"""
import json
import os
import subprocess
import sys
import time

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = THREADS
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import autodiff as ad  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [  # (N, C, H, W, O, K, padding)
    (32, 3, 32, 32, 16, 3, 1),
    (64, 16, 14, 14, 36, 5, 2),
    (64, 1, 28, 28, 16, 5, 2),
]


def time_ours(n, c, h, w, o, k, pad, repeats):
    rng = np.random.default_rng(0)
    x = ad.tensor(rng.standard_normal((n, c, h, w), dtype=np.float32), requires_grad=True)
    wt = ad.tensor(rng.standard_normal((o, c, k, k), dtype=np.float32), requires_grad=True)
    b = ad.zeros(o, requires_grad=True)
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    g = ad.tensor(rng.standard_normal((n, o, oh, ow), dtype=np.float32))
    times = []
    for i in range(repeats + 3):  # 3 warm-up runs
        t0 = time.perf_counter()
        y = ad.conv2d(x, wt, b, padding=pad)
        y.backward(g)
        if i >= 3:
            times.append(time.perf_counter() - t0)
        x.grad = wt.grad = b.grad = None
    im2col = n * c * k * k * oh * ow * 4
    return {"median_s": float(np.median(times)), "min_s": float(min(times)),
            "im2col_bytes": im2col}


def time_torch(case, repeats):
    cmd = [sys.executable, os.path.join(HERE, "conv_speed_torch.py"),
           *(str(v) for v in case), str(repeats), THREADS]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(repeats=50):
    results = []
    for case in CASES:
        ours = time_ours(*case, repeats)
        theirs = time_torch(case, repeats)
        ratio = ours["median_s"] / theirs["median_s"]
        n, c, h, w, o, k, pad = case
        print(f"conv2d {n}x{c}x{h}x{w}, {o} {k}x{k} filters, padding {pad}: "
              f"autodiff {ours['median_s'] * 1e3:.2f} ms, torch {theirs['median_s'] * 1e3:.2f} ms "
              f"(fwd+bwd, median of {repeats}, {THREADS} thread(s)) -> ratio {ratio:.2f}x; "
              f"im2col buffer {ours['im2col_bytes'] / 2**20:.2f} MiB")
        results.append({"case": case, "autodiff": ours, "torch": theirs, "ratio": ratio})
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "conv_speed.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 50)
