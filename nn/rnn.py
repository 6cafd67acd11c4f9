"""Recurrent layers (torch.nn.modules.rnn): RNN, LSTM, GRU and their cells."""

__all__ = []
