"""Optimizers and learning-rate schedulers, as torch.optim (numerically PyTorch's algorithms)."""
from nn.optim.optimizer import Optimizer
from nn.optim.sgd import SGD
from nn.optim.adagrad import Adagrad
from nn.optim.rmsprop import RMSprop
from nn.optim.adam import Adam, AdamW
from nn.optim.adadelta import Adadelta
from nn.optim.adamax import Adamax
from nn.optim.nadam import NAdam
from nn.optim.radam import RAdam
from nn.optim.asgd import ASGD
from nn.optim.rprop import Rprop
from nn.optim.lbfgs import LBFGS
from nn.optim.adafactor import Adafactor
from nn.optim.swap import swap_in_optimizer_params_and_state
from nn.optim import lr_scheduler
from nn.optim import swa_utils

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax",
           "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "Adafactor",
           "swap_in_optimizer_params_and_state", "lr_scheduler", "swa_utils"]
