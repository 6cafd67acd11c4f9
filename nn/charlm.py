"""Character language models: ids (B, T) -> next-character logits (B, T, V), and generate().

CharRNN / CharLSTM / CharGRU: Embedding -> recurrent layers (batch_first) -> Dropout -> Linear;
forward(ids, state=None) -> (logits, state), so generation carries the state step by step.
CharTransformer: decoder-only (token + learned position embeddings, pre-norm causal
TransformerEncoder, final LayerNorm, Linear head) over at most `context` characters.
"""
import math

import autodiff as ad
from nn.dropout import Dropout
from nn.layers import Linear
from nn.module import Module
from nn import rnn, transformer
from nn.normalization import LayerNorm
from nn.sparse import Embedding

__all__ = ["CharRNN", "CharLSTM", "CharGRU", "CharTransformer", "generate"]


def _check_ids(ids, who):
    if not isinstance(ids, ad.Tensor):
        ids = ad.as_tensor(ids)
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"{who}: expected integer character ids of shape (batch, time), got "
                         f"{ids.dtype} {tuple(ids.shape)}; use ids[None] for one sequence")
    return ids


class CharRNN(Module):
    """logits = Linear(Dropout(RNN(Embedding(ids), state))), the RNN batch_first"""

    layer = "RNN"

    def __init__(self, vocab_size, embed_dim=32, hidden_size=128, num_layers=1, dropout=0.0):
        super().__init__()
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.embedding = Embedding(vocab_size, embed_dim)
        # PyTorch warns about dropout with one layer (it only acts between layers)
        self.rnn = getattr(rnn, self.layer)(embed_dim, hidden_size, num_layers, batch_first=True,
                                           dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = Dropout(dropout)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        ids = _check_ids(ids, type(self).__name__)
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(self.dropout(out)), state


class CharLSTM(CharRNN):
    """logits = Linear(Dropout(LSTM(Embedding(ids), (h, c)))), the LSTM batch_first"""

    layer = "LSTM"


class CharGRU(CharRNN):
    """logits = Linear(Dropout(GRU(Embedding(ids), h))), the GRU batch_first"""

    layer = "GRU"


class CharTransformer(Module):
    """logits = Linear(LayerNorm(Encoder_causal(tok(ids) + pos(0..T-1)))), pre-norm layers, at
    most `context` characters"""

    def __init__(self, vocab_size, context, d_model=64, nhead=4, num_layers=2,
                 dim_feedforward=256, dropout=0.0):
        super().__init__()
        if context < 1:
            raise ValueError(f"CharTransformer: context must be >= 1, got {context}")
        self.vocab_size, self.context = vocab_size, context
        self.tok = Embedding(vocab_size, d_model)
        self.pos = Embedding(context, d_model)
        self.drop = Dropout(dropout)
        layer = transformer.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = transformer.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size)
        self._masks = {}

    def _mask(self, T):
        if T not in self._masks:
            self._masks[T] = transformer.Transformer.generate_square_subsequent_mask(T)
        return self._masks[T]

    def forward(self, ids, state=None):
        """(logits (B, T, V), None); `state` exists for a common signature and must be None"""
        ids = _check_ids(ids, "CharTransformer")
        if state is not None:
            raise ValueError("CharTransformer keeps no state between calls: pass state=None and "
                             "the whole context as ids")
        T = ids.shape[1]
        if T > self.context:
            raise ValueError(f"CharTransformer: {T} characters exceed the maximum context "
                             f"{self.context} fixed at construction; pass at most the last "
                             f"{self.context} (generate() does) or build a model with a larger "
                             f"context")
        x = self.drop(self.tok(ids) + self.pos(ad.arange(T)))
        mask = self._mask(T).to(x.dtype)
        x = self.encoder(x, mask=mask, is_causal=True)
        return self.head(self.norm(x)), None


def generate(model, vocab, n_chars=100, *, prompt="", start="", stop=None, temperature=1.0,
             greedy=False, generator=None):
    """prompt + up to n_chars sampled characters: c ~ softmax(logits / temperature) (argmax if
    greedy), after conditioning on start + prompt; ends early at `stop` (not included)"""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not temperature > 0 or math.isinf(temperature):
        raise ValueError(f"generate: temperature must be a finite number > 0, got "
                         f"{temperature!r}; lower values sharpen the distribution (greedy=True "
                         f"takes the most likely character)")
    if int(n_chars) != n_chars or n_chars < 0:
        raise ValueError(f"generate: n_chars must be a non-negative integer, got {n_chars!r}")
    if stop is not None and stop not in vocab:
        raise ValueError(f"generate: stop character {stop!r} is not in the vocabulary "
                         f"{vocab.chars!r}")
    seed = start + prompt
    if not seed:
        raise ValueError("generate: the model needs at least one character to condition on; "
                         "pass a prompt or start text (e.g. start='\\n' for the word list)")
    ids = [int(i) for i in vocab.encode(seed)]
    stop_id = None if stop is None else vocab.stoi[stop]
    context = getattr(model, "context", None)  # a transformer re-reads its window every step
    out = []
    was_training = model.training
    model.eval()
    try:
        with ad.no_grad():
            state, feed = None, ids
            for _ in range(int(n_chars)):
                if context is not None:
                    logits, _ = model(ad.tensor([ids[-context:]]))
                else:
                    logits, state = model(ad.tensor([feed]), state)
                last = logits[0, -1].double()
                if greedy:
                    nxt = int(last.argmax())
                else:
                    probs = ad.softmax(last / float(temperature), dim=-1)
                    nxt = int(ad.multinomial(probs, 1, generator=generator)[0])
                if nxt == stop_id:
                    break
                ids.append(nxt)
                out.append(nxt)
                feed = [nxt]
    finally:
        model.train(was_training)
    return prompt + vocab.decode(out)
