"""Optimizers and learning-rate schedulers, as torch.optim (numerically PyTorch's algorithms)."""
from nn.optim.optimizer import Optimizer
from nn.optim.sgd import SGD
from nn.optim.adagrad import Adagrad
from nn.optim.rmsprop import RMSprop
from nn.optim.adam import Adam, AdamW
from nn.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
