"""Pooling."""

import autodiff as ad

__all__ = ['max_pool2d', 'avg_pool2d', 'adaptive_avg_pool2d']


def _pool_options(op, ceil_mode, return_indices=False):
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported (windows never overhang "
                                  f"the input here); pad the input on the bottom and right so "
                                  f"the last window fits, then pool with ceil_mode=False")
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported; the gradient "
                                  f"flows through the output without them")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """out = max over each kernel_size window (stride defaults to kernel_size); ties share g"""
    _pool_options("max_pool2d", ceil_mode, return_indices)
    return ad.max_pool2d(input, kernel_size, stride, padding, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """out = mean over each window (stride defaults to kernel_size); padded zeros count in the
    divisor unless count_include_pad=False"""
    _pool_options("avg_pool2d", ceil_mode)
    return ad.avg_pool2d(input, kernel_size, stride, padding, count_include_pad,
                         divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """out (N, C, *output_size): the mean over adaptive windows (1: global average pooling)"""
    return ad.adaptive_avg_pool2d(input, output_size)
