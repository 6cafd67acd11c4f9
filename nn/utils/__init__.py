"""nn.utils (torch.nn.utils): gradient clipping, flat parameter vectors, parametrizations
(weight_norm, spectral_norm and the parametrize mechanism), pruning, conv/linear-batchnorm
fusion and functional_call. One module per torch.nn.utils module; the common names are
re-exported here."""
from nn.utils import parametrize, parametrizations, prune, stateless, fusion, rnn  # noqa: F401
from nn.utils.clip_grad import (clip_grad_norm, clip_grad_norm_, clip_grad_value_,  # noqa: F401
                                clip_grads_with_norm_, get_total_norm)
from nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from nn.utils.fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights,  # noqa: F401
                             fuse_linear_bn_eval, fuse_linear_bn_weights)
from nn.utils.init import skip_init  # noqa: F401
from nn.utils.spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from nn.utils.weight_norm import remove_weight_norm, weight_norm  # noqa: F401

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm", "parameters_to_vector", "vector_to_parameters",
           "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights", "skip_init", "spectral_norm", "remove_spectral_norm",
           "weight_norm", "remove_weight_norm", "parametrize", "parametrizations", "prune",
           "stateless", "fusion", "rnn"]
