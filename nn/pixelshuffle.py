"""Channel rearrangements: PixelShuffle, PixelUnshuffle, ChannelShuffle."""

__all__ = []
