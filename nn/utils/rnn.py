"""Variable-length sequences (torch.nn.utils.rnn): PackedSequence and its helpers."""

__all__ = []
