"""Convolutions (NC* layout, cross-correlation)."""

import autodiff as ad

__all__ = ['conv1d', 'conv2d']


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = b[o] + sum_{c, k} w[o, c, k] xpad[n, c, stride l + dilation k]"""
    return ad.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, s h + d i, s w + d j]
    (padding: an int, a pair, 'valid' or 'same')"""
    return ad.conv2d(input, weight, bias, stride, padding, dilation, groups)
