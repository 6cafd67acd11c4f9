"""Data loading, as torch.utils.data: datasets, random_split, DataLoader (+ nn.data.datasets)."""
from nn.data.collate import default_collate
from nn.data.dataset import Dataset, Subset, TensorDataset, random_split
from nn.data.loader import DataLoader
from nn.data import datasets

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader",
           "default_collate", "datasets"]
