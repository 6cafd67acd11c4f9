"""PyTorch counterpart of conv_speed.py (run in its own process): prints JSON timings."""
import json
import sys
import time

import numpy as np
import torch


def main(n, c, h, w, o, k, pad, repeats):
    torch.set_num_threads(int(sys.argv[9]) if len(sys.argv) > 9 else torch.get_num_threads())
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((n, c, h, w), dtype=np.float32), requires_grad=True)
    wt = torch.tensor(rng.standard_normal((o, c, k, k), dtype=np.float32), requires_grad=True)
    b = torch.zeros(o, requires_grad=True)
    g = torch.tensor(rng.standard_normal((n, o, h + 2 * pad - k + 1, w + 2 * pad - k + 1),
                                         dtype=np.float32))
    times = []
    for i in range(repeats + 3):  # 3 warm-up runs
        t0 = time.perf_counter()
        y = torch.nn.functional.conv2d(x, wt, b, padding=pad)
        y.backward(g)
        if i >= 3:
            times.append(time.perf_counter() - t0)
        x.grad = wt.grad = b.grad = None
    print(json.dumps({"median_s": float(np.median(times)), "min_s": float(min(times)),
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:9]))
