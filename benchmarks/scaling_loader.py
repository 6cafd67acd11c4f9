"""The augmentation-heavy loader of benchmarks/scaling.py: 4096 synthetic 3x32x32 images, each
randomly cropped (padding 4), flipped, rotated/scaled/translated with bilinear sampling and
normalised in __getitem__, loaded in batches of 64."""
import time

import numpy as np

from nn.data import DataLoader, Dataset
from nn.data import transforms as T

N, BATCH = 4096, 64
AUGMENT = T.Compose([
    T.RandomCrop(32, padding=4),
    T.RandomHorizontalFlip(),
    T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1),
                   interpolation=T.InterpolationMode.BILINEAR),
    T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
])


class AugmentedImages(Dataset):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.images = rng.random((N, 3, 32, 32), dtype=np.float32)
        self.labels = rng.integers(0, 10, N)

    def __len__(self):
        return N

    def __getitem__(self, i):
        return AUGMENT(self.images[i]), int(self.labels[i])


def epoch_seconds(workers):
    """Seconds for one pass over the loader (worker start-up included, as a user pays it)."""
    dataset = AugmentedImages()
    start = time.perf_counter()
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers)
    for _ in loader:
        pass
    return time.perf_counter() - start
