"""Convolutions (NC* layout, cross-correlation), transposed convolutions, sliding blocks
(unfold / fold) and channel rearrangements (pixel and channel shuffles)."""
import autodiff as ad

__all__ = ['conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d',
           'conv_transpose3d', 'unfold', 'fold', 'pixel_shuffle', 'pixel_unshuffle',
           'channel_shuffle', 'conv_tbc']


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = b[o] + sum_{c, k} w[o, c, k] xpad[n, c, stride l + dilation k]"""
    return ad.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, h, w] = b[o] + sum_{c, i, j} w[o, c, i, j] xpad[n, c, s h + d i, s w + d j]
    (padding: an int, a pair, 'valid' or 'same')"""
    return ad.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, p] = b[o] + sum_{c, k} w[o, c, k] xpad[n, c, s p + d k] over (D, H, W)"""
    return ad.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv1d's input gradient; weight (C_in, C_out/groups, K),
    L_out = (L - 1) s - 2 p + d (K - 1) + output_padding + 1"""
    return ad.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                               dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv2d's input gradient; weight (C_in, C_out/groups, KH, KW),
    H_out = (H - 1) s - 2 p + d (KH - 1) + output_padding + 1, likewise W_out"""
    return ad.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                               dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv3d's input gradient; weight (C_in, C_out/groups, KD, KH, KW),
    size_out = (size - 1) s - 2 p + d (K - 1) + output_padding + 1 per spatial dim"""
    return ad.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                               dilation)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C * KH * KW, L), out[n, (c, i, j), l] = the block l's
    element xpad[n, c, s h_l + d i, s w_l + d j]"""
    return ad.im2col(input, kernel_size, dilation, padding, stride)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C * KH * KW, L) -> (N, C, *output_size), overlapping blocks summed (the
    adjoint of unfold)"""
    return ad.col2im(input, output_size, kernel_size, dilation, padding, stride)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[.., c, h r + i, w r + j] =
    x[.., c r^2 + i r + j, h, w]"""
    return ad.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle"""
    return ad.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups):
    """(N, g m, *) -> (N, m g, *): out[:, j g + i] = x[:, i m + j]"""
    return ad.channel_shuffle(input, groups)


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution in time-batch-channel layout: input (T, B, C_in), weight (K, C_in, C_out),
    bias (C_out,) -> (T + 2 pad - K + 1, B, C_out)"""
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: expected input (T, B, C_in), weight (K, C_in, C_out) and "
                           f"bias (C_out,), got shapes {tuple(input.shape)}, "
                           f"{tuple(weight.shape)} and {tuple(bias.shape)}")
    if input.shape[2] != weight.shape[1] or weight.shape[2] != bias.shape[0]:
        raise RuntimeError(f"conv_tbc: input channels {input.shape[2]} and weight "
                           f"{tuple(weight.shape)} (K, C_in, C_out) and bias "
                           f"{tuple(bias.shape)} do not match")
    out = ad.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)

