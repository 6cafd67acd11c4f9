"""nn: layers, losses, optimizers and data loading on autodiff, with torch.nn's names.

    import nn, nn.functional as F
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = F.cross_entropy(model(x), y)

One module per family, as torch.nn.modules groups them; each lists its layers in __all__.
"""
from nn.parameter import Parameter  # noqa: F401
from nn.module import Module  # noqa: F401
from nn.containers import *  # noqa: F401,F403
from nn.layers import *  # noqa: F401,F403
from nn.activations import *  # noqa: F401,F403
from nn.dropout import *  # noqa: F401,F403
from nn.normalization import *  # noqa: F401,F403
from nn.sparse import *  # noqa: F401,F403
from nn.distance import *  # noqa: F401,F403
from nn.losses import *  # noqa: F401,F403
from nn.conv import *  # noqa: F401,F403
from nn.fold import *  # noqa: F401,F403
from nn.pixelshuffle import *  # noqa: F401,F403
from nn.pooling import *  # noqa: F401,F403
from nn.padding import *  # noqa: F401,F403
from nn.upsampling import *  # noqa: F401,F403
from nn.lazy import *  # noqa: F401,F403
from nn.adaptive import *  # noqa: F401,F403
from nn.rnn import *  # noqa: F401,F403
from nn.attention import *  # noqa: F401,F403
from nn.transformer import *  # noqa: F401,F403
from nn.syncbatchnorm import *  # noqa: F401,F403
from nn import functional, init, data, optim, utils, parallel  # noqa: F401
from nn.serialization import save, load  # noqa: F401
