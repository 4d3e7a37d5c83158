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
[forward, backward] by concat, sum, mul or ave, or returns both (none: [2, N, ...]). An LSTM's proj_size and use_bias run on
nn.LSTM itself; the options PyTorch lacks (activation, recurrent_activation, use_peepholes) on
ManualLSTM, the equations written out in torch operations (autograd gives the gradients), and
Keras's GRU with reset_after = false (PyTorch has none) on ManualGRU the same way.
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


ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
               "hard_sigmoid": torch.nn.functional.hardsigmoid, "linear": lambda z: z}


class ManualLSTM(torch.nn.Module):
    """One direction of an LSTM with every option, step by step (gates i, f, g, o):
    i = ract(a_i + p_i c_{t-1}), f = ract(a_f + p_f c_{t-1}), g = act(a_g),
    c_t = f c_{t-1} + i g, o = ract(a_o + p_o c_t), h_t = W_hr (o act(c_t)) (or without W_hr).
    Rows past their length keep their state and output zero (packed semantics)."""

    def __init__(self, I, H, P, bias, peephole, act, ract):
        super().__init__()
        new = lambda *shape: torch.nn.Parameter(torch.empty(*shape))
        self.weight_ih, self.weight_hh = new(4 * H, I), new(4 * H, P or H)
        self.bias = new(4 * H) if bias else None
        self.weight_hr = new(P, H) if P else None
        self.weight_peephole = new(3, H) if peephole else None
        self.act, self.ract = ACTIVATIONS[act], ACTIVATIONS[ract]

    def forward(self, x, L, state=None):
        N, T = x.shape[0], x.shape[1]
        H = self.weight_ih.shape[0] // 4
        h = x.new_zeros(N, self.weight_hh.shape[1]) if state is None else state[0]
        c = x.new_zeros(N, H) if state is None else state[1]
        p = self.weight_peephole
        outs = []
        for t in range(T):
            a = x[:, t] @ self.weight_ih.T + h @ self.weight_hh.T
            if self.bias is not None:
                a = a + self.bias
            a_i, a_f, a_g, a_o = a.chunk(4, 1)
            if p is not None:
                a_i, a_f = a_i + p[0] * c, a_f + p[1] * c
            i, f, g = self.ract(a_i), self.ract(a_f), self.act(a_g)
            c_new = f * c + i * g
            o = self.ract(a_o + p[2] * c_new if p is not None else a_o)
            h_new = o * self.act(c_new)
            if self.weight_hr is not None:
                h_new = h_new @ self.weight_hr.T
            m = (t < L).to(x.dtype)[:, None]
            c, h = m * c_new + (1 - m) * c, m * h_new + (1 - m) * h
            outs.append(m * h_new)
        return torch.stack(outs, 1), h, c


class ManualGRU(torch.nn.Module):
    """One direction of Keras's GRU with reset_after = false (gates r, z, n, one bias):
    r = σ(a_r + h W_hr), z = σ(a_z + h W_hz), n = tanh(a_n + (r h) W_hn), with a = x W_ih + b,
    h_t = (1 - z) n + z h_{t-1}. Rows past their length keep their state and output zero."""

    def __init__(self, I, H):
        super().__init__()
        new = lambda *shape: torch.nn.Parameter(torch.empty(*shape))
        self.weight_ih, self.weight_hh, self.bias = new(3 * H, I), new(3 * H, H), new(3 * H)
        self.weight_hr = self.weight_peephole = None

    def forward(self, x, L, state=None):
        N, T = x.shape[0], x.shape[1]
        H = self.weight_hh.shape[1]
        h = x.new_zeros(N, H) if state is None else state[0]
        W_rz, W_n = self.weight_hh[: 2 * H], self.weight_hh[2 * H:]
        outs = []
        for t in range(T):
            a_r, a_z, a_n = (x[:, t] @ self.weight_ih.T + self.bias).chunk(3, 1)
            ah_r, ah_z = (h @ W_rz.T).chunk(2, 1)
            r, z = torch.sigmoid(a_r + ah_r), torch.sigmoid(a_z + ah_z)
            n = torch.tanh(a_n + (r * h) @ W_n.T)
            h_new = (1 - z) * n + z * h
            m = (t < L).to(x.dtype)[:, None]
            h = m * h_new + (1 - m) * h
            outs.append(m * h_new)
        return torch.stack(outs, 1), h, None


class RecurrentTwin(torch.nn.Module):
    def __init__(self, cfg, I):
        super().__init__()
        self.bidirectional = cfg["type"] == "bidirectional"
        inner = cfg["layer"] if self.bidirectional else cfg
        self.kind = inner["type"]
        self.H = inner["units"]
        self.seq = inner.get("return_sequences", False)
        self.backwards = inner.get("go_backwards", False)
        self.merge = cfg.get("merge_mode", "concat") or "none"  # Keras writes none as null
        self.P = inner.get("proj_size", 0)
        self.bias = inner.get("use_bias", True)
        self.W = self.P or self.H  # the width of h_t
        act, ract = inner.get("activation", "tanh"), inner.get("recurrent_activation", "sigmoid")
        self.manual = self.kind == "lstm" and (act != "tanh" or ract != "sigmoid" or inner.get("use_peepholes", False))
        if self.kind == "gru" and not inner.get("reset_after", True):
            self.manual = True
            self.directions = torch.nn.ModuleList([ManualGRU(I, self.H) for _ in range(2 if self.bidirectional else 1)])
        elif self.manual:
            self.directions = torch.nn.ModuleList(
                [ManualLSTM(I, self.H, self.P, self.bias, inner.get("use_peepholes", False), act, ract)
                 for _ in range(2 if self.bidirectional else 1)])
        else:
            kwargs = {"batch_first": True, "bidirectional": self.bidirectional, "bias": self.bias}
            if self.kind == "simple_rnn":
                kwargs["nonlinearity"] = inner.get("activation", "tanh")
            if self.P:
                kwargs["proj_size"] = self.P
            self.rnn = RNN_CLASSES[self.kind](I, self.H, **kwargs)
        self.out_features = 2 * self.W if self.bidirectional and self.merge == "concat" else self.W

    def run(self, x, L, state=None):
        """[directions' outputs side by side (N, T, W or 2W)], (h_n [directions, N, W], c_n
        [directions, N, H] or None); state: the initial (h_0, c_0) (c_0 None but for LSTM)."""
        if not self.manual:
            packed = pack_padded_sequence(x, L, batch_first=True, enforce_sorted=False)
            hx = None if state is None else (state if self.kind == "lstm" else state[0])
            out, hn = self.rnn(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out, (hn if self.kind == "lstm" else (hn, None))
        st = [None, None] if state is None else [(state[0][k], None if state[1] is None else state[1][k])
                                                  for k in range(len(self.directions))]
        out_f, h_f, c_f = self.directions[0](x, L, st[0])
        if not self.bidirectional:
            return out_f, (h_f[None], None if c_f is None else c_f[None])
        out_b, h_b, c_b = self.directions[1](reverse_within(x, L), L, st[1])
        c_n = None if c_f is None else torch.stack([c_f, c_b])
        return torch.cat([out_f, reverse_within(out_b, L)], -1), (torch.stack([h_f, h_b]), c_n)

    def forward(self, x, lengths, state=None):
        out, _ = self.forward_with_state(x, lengths, state)
        return out

    def forward_with_state(self, x, lengths, state=None):
        """The layer's output and its final (h_n, c_n) per direction."""
        N, T = x.shape[0], x.shape[1]
        L = lengths if lengths is not None else torch.full((N,), T, dtype=torch.long)
        if self.backwards:
            x = reverse_within(x, L)
        out, final = self.run(x, L, state)
        h_n = final[0]  # [directions, N, W]
        if self.seq:
            f, b = out[..., :self.W], out[..., self.W:]
        else:
            f, b = h_n[0], (h_n[1] if self.bidirectional else None)
        if not self.bidirectional:
            return f, final
        return {"concat": lambda: torch.cat([f, b], -1), "sum": lambda: f + b, "mul": lambda: f * b,
                "ave": lambda: (f + b) / 2, "none": lambda: torch.stack([f, b])}[self.merge](), final

    def tensors(self, prefix, get):
        """lstm's names: weight_ih, weight_hh and bias (LSTM, SimpleRNN: one bias, the sum) or
        bias_ih, bias_hh (GRU), then an LSTM's weight_hr and weight_peephole; a bidirectional
        layer's under forward. and backward."""
        out = []
        names = ["forward.", "backward."][: 2 if self.bidirectional else 1]
        for k, (direction, suffix) in enumerate(zip(names, ["", "_reverse"])):
            d = prefix + (direction if self.bidirectional else "")
            if self.manual:
                m = self.directions[k]
                out += [(d + n, get(getattr(m, n))) for n in
                        ["weight_ih", "weight_hh", "bias", "weight_hr", "weight_peephole"] if getattr(m, n) is not None]
                continue
            p = lambda name: get(getattr(self.rnn, name + "_l0" + suffix))
            out += [(d + "weight_ih", p("weight_ih")), (d + "weight_hh", p("weight_hh"))]
            if self.bias and self.kind == "gru":
                out += [(d + "bias_ih", p("bias_ih")), (d + "bias_hh", p("bias_hh"))]
            elif self.bias:  # the gradient of the sum b_ih + b_hh equals each one's gradient
                out += [(d + "bias", p("bias_ih") if get is GRAD else p("bias_ih") + p("bias_hh"))]
            if self.P:
                out += [(d + "weight_hr", p("weight_hr"))]
        return out

    def fold_biases(self):
        if self.kind == "gru" or self.manual or not self.bias:
            return  # GRU keeps both biases in lstm's format too; the others have one or none
        for suffix in ["", "_reverse"][: 2 if self.bidirectional else 1]:
            b_ih, b_hh = getattr(self.rnn, "bias_ih_l0" + suffix), getattr(self.rnn, "bias_hh_l0" + suffix)
            with torch.no_grad():
                b_ih += b_hh
                b_hh.zero_()
            b_hh.requires_grad_(False)

    def extra_bias_count(self):
        """Parameters PyTorch has that lstm does not: the second bias of LSTM and SimpleRNN."""
        if self.kind == "gru" or self.manual or not self.bias:
            return 0
        return self.rnn.bias_hh_l0.numel() * (2 if self.bidirectional else 1)


def GRAD(p):
    return p.grad


def VALUE(p):
    return p


class DenseTwin(torch.nn.Module):
    def __init__(self, cfg, I):
        super().__init__()
        if cfg["type"] == "time_distributed":
            cfg = cfg["layer"]
        self.linear = torch.nn.Linear(I, cfg["units"], bias=cfg.get("use_bias", True))
        self.act = cfg.get("activation", "linear")
        self.out_features = cfg["units"]

    def forward(self, x, lengths):
        z = self.linear(x)
        return {"linear": lambda: z, "relu": lambda: torch.relu(z), "sigmoid": lambda: torch.sigmoid(z),
                "tanh": lambda: torch.tanh(z), "softmax": lambda: torch.softmax(z, -1)}[self.act]()

    def tensors(self, prefix, get):
        out = [(prefix + "weight", get(self.linear.weight))]
        return out + ([(prefix + "bias", get(self.linear.bias))] if self.linear.bias is not None else [])


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
            elif t in ("masking", "dropout"):  # dropout: identity outside training
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
            if isinstance(layer, RecurrentTwin):
                n -= layer.extra_bias_count()
        return n
