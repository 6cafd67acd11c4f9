"""Shared loop for the CNN benchmarks: minibatch training with periodic test evaluation,
a wall-clock deadline, and results written to benchmarks/results/<name>.json."""
import json
import os
import sys
import time

# several engineers share 2 cores: one BLAS thread each (spinning extra threads collapse speed)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import autodiff as ad  # noqa: E402
import nn.functional as F  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def evaluate(model, X, y, batch=250):
    """Test accuracy in eval mode, no graph recorded."""
    model.eval()
    correct = 0
    with ad.no_grad():
        for i in range(0, len(y), batch):
            logits = model(ad.from_numpy(X[i:i + batch]))
            correct += int((logits.data.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return correct / len(y)


def train(name, model, optimizer, data, steps, batch_size, eval_at, deadline=None, seed=0,
          extra=None):
    """Runs `steps` Adam/SGD steps on shuffled minibatches; evaluates at the steps in eval_at
    (and at the end); stops early at the deadline (a time.time() value)."""
    Xtr, ytr, Xte, yte = data
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(len(ytr)), 0
    record = {"name": name, "steps_planned": steps, "batch_size": batch_size,
              "evals": [], "params": sum(p.numel() for p in model.parameters())}
    record.update(extra or {})
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    t0 = time.time()
    train_time = 0.0
    loss_sum, loss_n = 0.0, 0
    for step in range(1, steps + 1):
        if pos + batch_size > len(ytr):
            order, pos = rng.permutation(len(ytr)), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        ts = time.time()
        loss = F.cross_entropy(model(ad.from_numpy(Xtr[idx])), ad.from_numpy(ytr[idx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_time += time.time() - ts
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        late = deadline is not None and time.time() > deadline
        if step in eval_at or step == steps or late:
            acc = evaluate(model, Xte, yte)
            entry = {"step": step, "epoch": round(step * batch_size / len(ytr), 2),
                     "test_acc": acc, "train_loss": loss_sum / loss_n,
                     "train_time_s": round(train_time, 1), "wall_s": round(time.time() - t0, 1),
                     "ms_per_step": round(1e3 * train_time / step, 1)}
            loss_sum, loss_n = 0.0, 0
            record["evals"].append(entry)
            print(json.dumps(entry), flush=True)
            record["stopped_at_deadline"] = bool(late and step != steps)
            with open(path, "w") as f:
                json.dump(record, f, indent=1)
            if late:
                break
    return record


def deadline_from_argv(default_hhmm="11:40"):
    """--until HH:MM (UTC, today): stop training and report at that time."""
    hhmm = default_hhmm
    if "--until" in sys.argv:
        hhmm = sys.argv[sys.argv.index("--until") + 1]
    h, m = (int(v) for v in hhmm.split(":"))
    now = time.gmtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, h, m, 0, 0, 0, 0)) - time.timezone
