"""A PyTorch twin of an lstm model config (docs/file-format.md): the same computation built from
nn.LSTM / nn.GRU / nn.RNN / nn.Linear / nn.Embedding, with variable lengths run as packed
sequences, and its parameters (or their gradients) under lstm's tensor names.

    twin = Twin(config, seed)          # random weights, both RNN biases non-zero
    pred = twin(X, lengths)            # lengths: LongTensor [N] or None
    twin.tensors(grads=False)          # [(name, array)] in lstm's file order
    twin.fold_biases()                 # the single-bias model lstm trains (LSTM, SimpleRNN)

Semantics it pins down (lstm/layers.h): padded steps leave the state alone and output zero; a
layer without return_sequences returns each direction's final state (h_n); go_backwards reads
each sequence from its last valid step and returns outputs in that order; Bidirectional joins
[forward, backward] by concat, sum, mul or ave.
"""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

RNN_CLASSES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}


def reverse_within(x, lengths):
    """x [N, T, F]: row n's first L_n steps in reverse order, zeros after."""
    N, T = x.shape[0], x.shape[1]
    out = torch.zeros_like(x)
    for n in range(N):
        L = int(lengths[n])
        out[n, :L] = x[n, :L].flip(0)
    return out


class RecurrentTwin(torch.nn.Module):
    def __init__(self, cfg, I):
        super().__init__()
        self.bidirectional = cfg["type"] == "bidirectional"
        inner = cfg["layer"] if self.bidirectional else cfg
        self.kind = inner["type"]
        self.H = inner["units"]
        self.seq = inner.get("return_sequences", False)
        self.backwards = inner.get("go_backwards", False)
        self.merge = cfg.get("merge_mode", "concat")
        kwargs = {"batch_first": True, "bidirectional": self.bidirectional}
        if self.kind == "simple_rnn":
            kwargs["nonlinearity"] = inner.get("activation", "tanh")
        self.rnn = RNN_CLASSES[self.kind](I, self.H, **kwargs)
        self.out_features = 2 * self.H if self.bidirectional and self.merge == "concat" else self.H

    def forward(self, x, lengths):
        N, T = x.shape[0], x.shape[1]
        L = lengths if lengths is not None else torch.full((N,), T, dtype=torch.long)
        if self.backwards:
            x = reverse_within(x, L)
        packed = pack_padded_sequence(x, L, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        h_n = state[0] if self.kind == "lstm" else state  # [directions, N, H]
        if self.seq:
            f, b = out[..., :self.H], out[..., self.H:]
        else:
            f, b = h_n[0], (h_n[1] if self.bidirectional else None)
        if not self.bidirectional:
            return f
        return {"concat": lambda: torch.cat([f, b], -1), "sum": lambda: f + b,
                "mul": lambda: f * b, "ave": lambda: (f + b) / 2}[self.merge]()

    def tensors(self, prefix, get):
        """lstm's names: weight_ih, weight_hh and bias (LSTM, SimpleRNN: one bias, the sum) or
        bias_ih, bias_hh (GRU); a bidirectional layer's under forward. and backward."""
        out = []
        for direction, suffix in [("forward.", ""), ("backward.", "_reverse")][: 2 if self.bidirectional else 1]:
            p = lambda name: get(getattr(self.rnn, name + "_l0" + suffix))
            d = prefix + (direction if self.bidirectional else "")
            out += [(d + "weight_ih", p("weight_ih")), (d + "weight_hh", p("weight_hh"))]
            if self.kind == "gru":
                out += [(d + "bias_ih", p("bias_ih")), (d + "bias_hh", p("bias_hh"))]
            else:  # the gradient of the sum b_ih + b_hh equals each one's gradient
                out += [(d + "bias", p("bias_ih") if get is GRAD else p("bias_ih") + p("bias_hh"))]
        return out

    def fold_biases(self):
        if self.kind == "gru":
            return  # GRU keeps both biases in lstm's format too
        for suffix in ["", "_reverse"][: 2 if self.bidirectional else 1]:
            b_ih, b_hh = getattr(self.rnn, "bias_ih_l0" + suffix), getattr(self.rnn, "bias_hh_l0" + suffix)
            with torch.no_grad():
                b_ih += b_hh
                b_hh.zero_()
            b_hh.requires_grad_(False)


def GRAD(p):
    return p.grad


def VALUE(p):
    return p


class DenseTwin(torch.nn.Module):
    def __init__(self, cfg, I):
        super().__init__()
        if cfg["type"] == "time_distributed":
            cfg = cfg["layer"]
        self.linear = torch.nn.Linear(I, cfg["units"])
        self.act = cfg.get("activation", "linear")
        self.out_features = cfg["units"]

    def forward(self, x, lengths):
        z = self.linear(x)
        return {"linear": lambda: z, "relu": lambda: torch.relu(z), "sigmoid": lambda: torch.sigmoid(z),
                "tanh": lambda: torch.tanh(z), "softmax": lambda: torch.softmax(z, -1)}[self.act]()

    def tensors(self, prefix, get):
        return [(prefix + "weight", get(self.linear.weight)), (prefix + "bias", get(self.linear.bias))]


class EmbeddingTwin(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed = torch.nn.Embedding(cfg["input_dim"], cfg["output_dim"])
        self.out_features = cfg["output_dim"]

    def forward(self, x, lengths):
        return self.embed(x.long())

    def tensors(self, prefix, get):
        return [(prefix + "weight", get(self.embed.weight))]


class MaskingTwin(torch.nn.Module):
    def __init__(self, F):
        super().__init__()
        self.out_features = F

    def forward(self, x, lengths):
        return x  # the padded steps hold zeros already

    def tensors(self, prefix, get):
        return []


class Twin(torch.nn.Module):
    def __init__(self, config, seed):
        super().__init__()
        torch.manual_seed(seed)
        shape = config["input_shape"]
        features = 1 if config["layers"][0]["type"] == "embedding" else shape[-1]
        self.layers = torch.nn.ModuleList()
        for cfg in config["layers"]:
            t = cfg["type"]
            if t in ("lstm", "gru", "simple_rnn", "bidirectional"):
                layer = RecurrentTwin(cfg, features)
            elif t in ("dense", "time_distributed"):
                layer = DenseTwin(cfg, features)
            elif t == "embedding":
                layer = EmbeddingTwin(cfg)
            elif t == "masking":
                layer = MaskingTwin(features)
            else:
                raise ValueError(t)
            self.layers.append(layer)
            features = layer.out_features
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-0.6, 0.6)

    def forward(self, x, lengths=None):
        for layer in self.layers:
            x = layer(x, lengths)
        return x

    def tensors(self, grads=False):
        get = GRAD if grads else VALUE
        out = []
        for i, layer in enumerate(self.layers):
            out += layer.tensors(f"layers.{i}.", get)
        return [(n, t.detach().numpy()) for n, t in out]

    def fold_biases(self):
        for layer in self.layers:
            if isinstance(layer, RecurrentTwin):
                layer.fold_biases()

    def lstm_param_count(self):
        """lstm's parameter count: PyTorch's, less one bias per LSTM / SimpleRNN direction."""
        n = sum(p.numel() for p in self.parameters())
        for layer in self.layers:
            if isinstance(layer, RecurrentTwin) and layer.kind != "gru":
                n -= layer.rnn.bias_hh_l0.numel() * (2 if layer.bidirectional else 1)
        return n
