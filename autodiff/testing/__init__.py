"""autodiff.testing: gradient checking and hypothesis strategies, for the library and its users.

    from autodiff.testing import gradcheck, gradgradcheck, assert_gradients_close
    from autodiff.testing import strategies   # needs hypothesis
"""
from .gradcheck import (GradcheckError, GradcheckWarning, close, gradcheck,  # noqa: F401
                        gradgradcheck)
from .helpers import assert_gradients_close, gradient_test, register_profiles  # noqa: F401

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "GradcheckWarning", "close",
           "assert_gradients_close", "gradient_test", "register_profiles", "strategies"]


def __getattr__(name):
    # strategies imports hypothesis, which the library itself does not require
    if name == "strategies":
        import importlib
        return importlib.import_module(__name__ + ".strategies")
    raise AttributeError(f"module 'autodiff.testing' has no attribute {name!r}")
