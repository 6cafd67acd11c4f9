"""Benchmark cases for the recurrent layers (registered into cases.CASES): one training step's
forward + backward (a random upstream gradient into the output) of nn.LSTM / nn.GRU, batch 32,
sequence 64, input 64, hidden 128, float32, the same weights in both libraries."""
import numpy as np

from cases import case

SEQ, BATCH, INPUT, HIDDEN = 64, 32, 64, 128


class _Recurrent:
    kind, layers, bidirectional = "LSTM", 1, False

    @classmethod
    def _setup(cls, lib, nn):
        """The same code for both libraries: a PyTorch program ported by changing imports."""
        lib.manual_seed(0)
        model = getattr(nn, cls.kind)(INPUT, HIDDEN, num_layers=cls.layers,
                                      bidirectional=cls.bidirectional)
        rng = np.random.default_rng(0)
        d = 2 if cls.bidirectional else 1
        x = lib.tensor(rng.standard_normal((SEQ, BATCH, INPUT), dtype=np.float32),
                       requires_grad=True)
        g = lib.tensor(rng.standard_normal((SEQ, BATCH, d * HIDDEN), dtype=np.float32))
        params = list(model.parameters())

        def step():
            out, _ = model(x)
            out.backward(g)
            x.grad = None
            for p in params:
                p.grad = None
        return step, 1

    @classmethod
    def setup_autodiff(cls):
        import autodiff as ad
        import nn
        return cls._setup(ad, nn)

    @classmethod
    def setup_torch(cls):
        import torch
        return cls._setup(torch, torch.nn)


@case("lstm", "nn.LSTM forward+backward, seq 64, batch 32, input 64, hidden 128, 1 layer")
class LSTM(_Recurrent):
    kind = "LSTM"


@case("gru", "nn.GRU forward+backward, seq 64, batch 32, input 64, hidden 128, 1 layer")
class GRU(_Recurrent):
    kind = "GRU"


@case("bilstm2", "nn.LSTM forward+backward, 2 layers, bidirectional, seq 64, batch 32, "
      "input 64, hidden 128")
class BiLSTM2(_Recurrent):
    kind, layers, bidirectional = "LSTM", 2, True
