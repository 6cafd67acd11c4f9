"""Data loading, as torch.utils.data: datasets, random_split, DataLoader (+ nn.data.datasets),
and character-level text helpers (nn.data.text)."""
from nn.data.collate import default_collate
from nn.data.dataset import Dataset, Subset, TensorDataset, random_split
from nn.data.loader import DataLoader
from nn.data.text import CharVocab, NextCharDataset, bigram_nll, split_words, words_to_text
from nn.data import datasets

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader",
           "default_collate", "datasets", "CharVocab", "NextCharDataset", "words_to_text",
           "split_words", "bigram_nll"]
