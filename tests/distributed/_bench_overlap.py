"""Does DDP's communication overlap the backward pass? (a measurement, not a test)

    mpiexec -n 2 python -m mpi4py tests/distributed/_bench_overlap.py [iterations]

Times, per iteration (median over ranks' rank-0 view, barrier before each): the backward alone
(under no_sync), the all-reduce of every gradient alone (the same buckets, blocking), the two in
sequence, and DDP's backward (buckets all-reduced while the backward runs). One BLAS thread per
rank (OMP_NUM_THREADS=1)."""
import statistics
import sys
import time

import numpy as np

import autodiff as ad
import autodiff.distributed as dist
import nn
from nn.parallel import DistributedDataParallel as DDP

dist.init_process_group()
comm = dist._comm()
MPI = dist._group._mpi()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 15
ad.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                      nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
ddp = DDP(model, bucket_cap_mb=4)
x = ad.randn(128, 784)
y = ad.randint(0, 10, (128,))
params = list(model.parameters())
nbytes = sum(p.data.nbytes for p in params)


def timed(fn):
    comm.Barrier()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def loss():
    return nn.functional.cross_entropy(ddp(x), y)


def backward_only():
    model.zero_grad()
    with ddp.no_sync():
        out = loss()
    return timed(out.backward)


def reduce_only():
    bufs = [np.concatenate([params[i].grad.data.reshape(-1) for i in b.params])
            for b in ddp.reducer._buckets]

    def go():
        for b in bufs:
            comm.Allreduce(MPI.IN_PLACE, b, MPI.SUM)
    return timed(go)


def sequential():
    model.zero_grad()
    with ddp.no_sync():
        out = loss()

    def go():
        out.backward()
        for b in ddp.reducer._buckets:
            buf = np.concatenate([params[i].grad.data.reshape(-1) for i in b.params])
            comm.Allreduce(MPI.IN_PLACE, buf, MPI.SUM)
    return timed(go)


def overlapped():
    model.zero_grad()
    out = loss()
    return timed(out.backward)


rows = {"backward alone": [], "all-reduce alone": [], "backward then all-reduce": [],
        "DDP backward (overlapped)": []}
for _ in range(N):
    rows["backward alone"].append(backward_only())
    rows["all-reduce alone"].append(reduce_only())
    rows["backward then all-reduce"].append(sequential())
    rows["DDP backward (overlapped)"].append(overlapped())
if dist.get_rank() == 0:
    print(f"{dist.get_world_size()} ranks, {nbytes / 2**20:.1f} MB of gradients in "
          f"{len(ddp.reducer._buckets)} buckets, medians of {N} iterations:")
    for k, v in rows.items():
        print(f"  {k:28s} {1000 * statistics.median(v):7.2f} ms")
    seq = statistics.median(rows["backward then all-reduce"])
    ovl = statistics.median(rows["DDP backward (overlapped)"])
    print(f"  overlapped / sequential: {ovl / seq:.2f}")
