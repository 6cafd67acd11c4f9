"""Benchmark case for a character-level Transformer step (registered into cases.CASES)."""
import numpy as np

from cases import case


@case("char_transformer", "decoder-only char Transformer (4 layers, 4 heads, width 128, ff 512, "
      "pre-norm, causal), context 64, batch 32: one AdamW step (float32)")
class CharTransformer:
    vocab, width, heads, layers, context, batch = 64, 128, 4, 4, 64, 32

    @classmethod
    def _setup(cls, lib, nn, optim, F):
        """The same code for both libraries: a PyTorch program ported by changing imports."""
        rng = np.random.default_rng(0)
        data = rng.integers(0, cls.vocab, (cls.batch, cls.context + 1))
        x, y = lib.from_numpy(data[:, :-1].copy()), lib.from_numpy(data[:, 1:].copy())
        lib.manual_seed(0)

        class Model(nn.Module):
            def __init__(self, vocab, width, heads, layers, context):
                super().__init__()
                self.tok = nn.Embedding(vocab, width)
                self.pos = nn.Embedding(context, width)
                layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width,
                                                   dropout=0.0, batch_first=True,
                                                   norm_first=True)
                self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
                self.norm = nn.LayerNorm(width)
                self.head = nn.Linear(width, vocab)
                self.register_buffer("mask",
                                     nn.Transformer.generate_square_subsequent_mask(context))
                self.register_buffer("positions", lib.arange(context))

            def forward(self, idx):
                t = idx.shape[1]
                h = self.tok(idx) + self.pos(self.positions[:t])
                h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
                return self.head(self.norm(h))

        model = Model(cls.vocab, cls.width, cls.heads, cls.layers, cls.context)
        opt = optim.AdamW(model.parameters(), lr=3e-4)

        def step():
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, cls.vocab), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step, 1

    @classmethod
    def setup_autodiff(cls):
        import autodiff as ad
        import nn
        import nn.functional as F
        return cls._setup(ad, nn, nn.optim, F)

    @classmethod
    def setup_torch(cls):
        import torch
        return cls._setup(torch, torch.nn, torch.optim, torch.nn.functional)
