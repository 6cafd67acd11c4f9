"""Data loading, as torch.utils.data: datasets, random_split, DataLoader (+ nn.data.datasets),
and character-level text helpers (nn.data.text)."""
from nn.data.collate import default_collate
from nn.data.dataset import Dataset, Subset, TensorDataset, random_split
from nn.data.loader import DataLoader, IterableDataset, default_convert, get_worker_info
from nn.data.sampler import (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                             WeightedRandomSampler, BatchSampler, DistributedSampler)
from nn.data.text import CharVocab, NextCharDataset, bigram_nll, split_words, words_to_text
from nn.data import datasets, sampler, distributed, transforms

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader",
           "default_collate", "datasets", "CharVocab", "NextCharDataset", "words_to_text",
           "split_words", "bigram_nll", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler",
           "sampler", "distributed", "transforms", "IterableDataset", "default_convert",
           "get_worker_info"]
