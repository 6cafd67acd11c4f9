"""nn: layers, losses, optimizers and data loading on autodiff, with torch.nn's names.

    import nn, nn.functional as F
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = F.cross_entropy(model(x), y)
"""
from nn.parameter import Parameter  # noqa: F401
from nn.module import Module  # noqa: F401
from nn.containers import Sequential, ModuleList, ModuleDict, ParameterList  # noqa: F401
from nn.layers import (Identity, Linear, MLP, Flatten, Unflatten, Dropout,  # noqa: F401
                       BatchNorm1d, LayerNorm, Embedding)
from nn.activations import (ReLU, LeakyReLU, PReLU, ELU, GELU, SiLU, Sigmoid, Tanh,  # noqa
                            Softplus, Softmax, LogSoftmax)
from nn.losses import (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss,  # noqa: F401
                       HuberLoss, BCELoss, BCEWithLogitsLoss, MultiMarginLoss, KLDivLoss)
from nn import functional, init, data, optim, utils  # noqa: F401
from nn.serialization import save, load  # noqa: F401
from nn.conv import (Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,  # noqa: F401
                     BatchNorm2d, ResidualBlock)
