"""Live PyTorch reference for graph models (lstm::Model): run as /usr/bin/python3.

    /usr/bin/python3 tests/parity/graph_reference.py OUTDIR

Two graphs, written out here in torch operations and in tests/parity/test_graph_parity.cpp
with lstm's functional API, layer for layer under the same names:

  translator  source ids -> Embedding(mask_zero) -> Bidirectional(LSTM, return_sequences,
              return_state); target ids -> Embedding(mask_zero) -> LSTM started from the
              encoder's [h_fwd, h_bwd], [c_fwd, c_bwd] (Concatenate); Attention (Luong dot)
              of the decoder over the encoder, padded source steps masked; Dense(softmax) on
              [decoder, context]; sparse categorical cross-entropy over valid target steps.
  seq2seq_<attention>  lstm::seq2seq_model (lstm/seq2seq.h) for each attention kind: stacked
              or bidirectional encoders whose final states start the decoder's layers, Luong's
              dot and general scores, Bahdanau's additive score, Luong's attentional layer
              tanh(W[ctx, dec]), logits out; PyTorch's CrossEntropyLoss with label smoothing on
              the valid steps.
  two_heads   sequences (Masking) and vectors in; a per-step head on an LSTM's sequence and a
              per-sample head on Add(GRU's last state, Dense(vectors)); mse + 0.5 * mse.
  video       clips [N, T, H, W, C] -> Conv2D("same", tanh) per frame -> MaxPooling2D(2) ->
              ConvLSTM2D (written out here: the six equations with torch's conv2d; its input
              convolution "valid", its recurrent one TensorFlow's "same" with an even kernel),
              return_sequences and return_state; a frame head Conv2D(1x1, sigmoid) on every h_t
              (images out, [N, T, OH, OW, 1]) and a vector head Dense on [Flatten(h_T),
              GlobalAveragePooling2D(c_T)]; mse + mse.

Lengths differ between the two inputs of each graph, so lstm's second mask runs in an order
of its own. For each it writes OUTDIR/<case>/: weights.safetensors (float32 starting weights,
lstm's names: one bias per LSTM, PyTorch's bias_hh held at zero), x<k>.npy, y<k>.npy, and
from the float64 computation pred<k>.npy, loss.npy, grads.safetensors, and
trained.safetensors after 10 Adam steps on the full batch; meta.json (lr, epsilon, steps).
"""
import json
import os
import sys

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from torch_reference import write_safetensors

torch.set_num_threads(1)
STEPS, LR, EPS = 10, 0.01, 1e-7


def lstm_module(I, H, bidirectional=False):
    m = torch.nn.LSTM(I, H, batch_first=True, bidirectional=bidirectional)
    for name, p in m.named_parameters():
        if name.startswith("bias_hh"):  # lstm's LSTM has one bias: bias_ih stands for the sum
            p.data.zero_()
            p.requires_grad_(False)
        else:
            p.data.uniform_(-0.5, 0.5)
    return m


def lstm_names(prefix, m, reverse=False):
    s = "_reverse" if reverse else ""
    return [(prefix + ".weight_ih", getattr(m, "weight_ih_l0" + s)),
            (prefix + ".weight_hh", getattr(m, "weight_hh_l0" + s)),
            (prefix + ".bias", getattr(m, "bias_ih_l0" + s))]


def linear(I, O):
    m = torch.nn.Linear(I, O)
    m.weight.data.uniform_(-0.5, 0.5)
    m.bias.data.uniform_(-0.2, 0.2)
    return m


def run_packed(rnn, x, lengths, state=None):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, hn = rnn(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, hn


class Translator(torch.nn.Module):
    V_SRC, V_TGT, D, H = 7, 6, 4, 5

    def __init__(self):
        super().__init__()
        self.src_embedding = torch.nn.Embedding(self.V_SRC, self.D)
        self.tgt_embedding = torch.nn.Embedding(self.V_TGT, self.D)
        for e in (self.src_embedding, self.tgt_embedding):
            e.weight.data.uniform_(-0.5, 0.5)
        self.encoder = lstm_module(self.D, self.H, bidirectional=True)
        self.decoder = lstm_module(self.D, 2 * self.H)
        self.head = linear(4 * self.H, self.V_TGT)

    def named(self):
        return ([("src_embedding.weight", self.src_embedding.weight),
                 ("tgt_embedding.weight", self.tgt_embedding.weight)]
                + lstm_names("encoder.forward", self.encoder) + lstm_names("encoder.backward", self.encoder, True)
                + lstm_names("decoder", self.decoder)
                + [("head.weight", self.head.weight), ("head.bias", self.head.bias)])

    def forward(self, src, tgt):
        ls, lt = (src != 0).sum(1), (tgt != 0).sum(1)
        enc, (h, c) = run_packed(self.encoder, self.src_embedding(src), ls)
        h0 = torch.cat([h[0], h[1]], 1)[None]  # [h_fwd, h_bwd]
        c0 = torch.cat([c[0], c[1]], 1)[None]
        dec, _ = run_packed(self.decoder, self.tgt_embedding(tgt), lt, (h0, c0))
        scores = dec @ enc.transpose(1, 2)  # [N, T, S]
        keys = torch.arange(src.shape[1])[None, None, :] < ls[:, None, None]
        a = torch.softmax(scores.masked_fill(~keys, float("-inf")), -1)
        ctx = (a @ enc) * (torch.arange(tgt.shape[1])[None, :, None] < lt[:, None, None])
        return [torch.softmax(self.head(torch.cat([dec, ctx], 2)), -1)], [lt]

    @staticmethod
    def loss(preds, ys, masks):
        p, y, lt = preds[0], ys[0], masks[0]
        valid = torch.arange(p.shape[1])[None, :] < lt[:, None]
        nll = -torch.log(p.gather(2, y.long()[..., None])[..., 0].clamp(1e-7, 1.0))
        return nll[valid].mean()

    @staticmethod
    def data(rng):
        N, S, T = 4, 6, 5
        ls, lt = [6, 3, 5, 2], [3, 5, 2, 4]
        src = np.zeros((N, S), np.int64)
        tgt = np.zeros((N, T), np.int64)
        for n in range(N):
            src[n, :ls[n]] = rng.integers(1, Translator.V_SRC, ls[n])
            tgt[n, :lt[n]] = rng.integers(1, Translator.V_TGT, lt[n])
        y = rng.integers(0, Translator.V_TGT, (N, T))
        return [torch.tensor(src), torch.tensor(tgt)], [torch.tensor(y, dtype=torch.float64)]


class Seq2seq(torch.nn.Module):
    """lstm::seq2seq_model, written out in torch operations (include/lstm/seq2seq.h)."""
    V_SRC, V_TGT, E, H = 7, 6, 4, 6
    ATTENTION, LAYERS, BIDIRECTIONAL, SMOOTHING = "general", 1, False, 0.0

    def __init__(self):
        super().__init__()
        E, H, half = self.E, self.H, self.H // 2
        self.source_embedding = torch.nn.Embedding(self.V_SRC, E)
        self.target_embedding = torch.nn.Embedding(self.V_TGT, E)
        for e in (self.source_embedding, self.target_embedding):
            e.weight.data.uniform_(-0.5, 0.5)
        self.encoders = torch.nn.ModuleList(
            [lstm_module(E if k == 0 else H, half if self.BIDIRECTIONAL else H, self.BIDIRECTIONAL)
             for k in range(self.LAYERS)])
        self.decoders = torch.nn.ModuleList([lstm_module(E if k == 0 else H, H) for k in range(self.LAYERS)])
        if self.ATTENTION in ("general", "additive"):
            self.attention_key = linear(H, H)
            self.attention_key.bias = None
        if self.ATTENTION == "additive":
            self.attention_query = linear(H, H)
            self.attention_query.bias = None
            self.scale = torch.nn.Parameter(torch.empty(H).uniform_(-0.5, 0.5))
        if self.ATTENTION != "none":
            self.attentional = linear(2 * H, H)
        self.output = linear(H, self.V_TGT)

    def named(self):
        out = [("source_embedding.weight", self.source_embedding.weight)]
        for k, m in enumerate(self.encoders):
            name = "encoder_%d" % (k + 1)
            if self.BIDIRECTIONAL:
                out += lstm_names(name + ".forward", m) + lstm_names(name + ".backward", m, True)
            else:
                out += lstm_names(name, m)
        out.append(("target_embedding.weight", self.target_embedding.weight))
        for k, m in enumerate(self.decoders):
            out += lstm_names("decoder_%d" % (k + 1), m)
        if self.ATTENTION == "general":
            out.append(("attention_key.weight", self.attention_key.weight))
        if self.ATTENTION == "additive":
            out += [("attention_query.weight", self.attention_query.weight),
                    ("attention_key.weight", self.attention_key.weight),
                    ("attention.scale", self.scale)]
        if self.ATTENTION != "none":
            out += [("attentional.weight", self.attentional.weight), ("attentional.bias", self.attentional.bias)]
        return out + [("output.weight", self.output.weight), ("output.bias", self.output.bias)]

    def forward(self, src, tgt):
        ls, lt = (src != 0).sum(1), (tgt != 0).sum(1)
        x, states = self.source_embedding(src), []
        for m in self.encoders:
            x, (h, c) = run_packed(m, x, ls)
            if self.BIDIRECTIONAL:  # [forward, backward] joined, as the Concatenate layers do
                h, c = torch.cat([h[0], h[1]], 1)[None], torch.cat([c[0], c[1]], 1)[None]
            states.append((h, c))
        enc = x
        y = self.target_embedding(tgt)
        for m, state in zip(self.decoders, states):
            y, _ = run_packed(m, y, lt, state)
        out = y
        if self.ATTENTION != "none":
            if self.ATTENTION == "dot":
                scores = y @ enc.transpose(1, 2)
            elif self.ATTENTION == "general":
                scores = y @ self.attention_key(enc).transpose(1, 2)
            else:
                q, k = self.attention_query(y), self.attention_key(enc)
                scores = (torch.tanh(q[:, :, None, :] + k[:, None, :, :]) * self.scale).sum(-1)
            keys = torch.arange(src.shape[1])[None, None, :] < ls[:, None, None]
            a = torch.softmax(scores.masked_fill(~keys, float("-inf")), -1)
            ctx = (a @ enc) * (torch.arange(tgt.shape[1])[None, :, None] < lt[:, None, None])
            out = torch.tanh(self.attentional(torch.cat([ctx, y], 2)))
        return [self.output(out)], [lt]  # logits

    @classmethod
    def loss(cls, preds, ys, masks):
        z, y, lt = preds[0], ys[0], masks[0]
        valid = torch.arange(z.shape[1])[None, :] < lt[:, None]
        loss = torch.nn.CrossEntropyLoss(label_smoothing=cls.SMOOTHING)
        return loss(z[valid], y[valid].long())

    @classmethod
    def data(cls, rng):
        N, S, T = 5, 6, 5
        ls, lt = [6, 3, 5, 2, 4], [3, 5, 2, 4, 1]
        src = np.zeros((N, S), np.int64)
        tgt = np.zeros((N, T), np.int64)
        for n in range(N):
            src[n, :ls[n]] = rng.integers(1, cls.V_SRC, ls[n])
            tgt[n, :lt[n]] = rng.integers(1, cls.V_TGT, lt[n])
        y = rng.integers(0, cls.V_TGT, (N, T))
        return [torch.tensor(src), torch.tensor(tgt)], [torch.tensor(y, dtype=torch.float64)]


def conv_same(x, kernel, bias=None):
    """Keras's Conv2D with padding "same", stride 1: x (B, H, W, C), kernel (KH, KW, C, F)."""
    KH, KW = kernel.shape[0], kernel.shape[1]
    inp = torch.nn.functional.pad(x.permute(0, 3, 1, 2), ((KW - 1) // 2, KW - 1 - (KW - 1) // 2,
                                                          (KH - 1) // 2, KH - 1 - (KH - 1) // 2))
    return torch.nn.functional.conv2d(inp, kernel.permute(3, 2, 0, 1), bias).permute(0, 2, 3, 1)


def conv_valid(x, kernel, bias=None):
    return torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), kernel.permute(3, 2, 0, 1), bias).permute(0, 2, 3, 1)


def uniform(*shape, scale=0.5):
    return torch.nn.Parameter(torch.empty(*shape).uniform_(-scale, scale))


class Video(torch.nn.Module):
    N, T, H, W, C, F = 3, 4, 8, 6, 2, 4

    def __init__(self):
        super().__init__()
        self.conv_kernel, self.conv_bias = uniform(3, 3, self.C, 3), uniform(3, scale=0.2)
        self.cl_kernel, self.cl_recurrent = uniform(2, 2, 3, 4 * self.F), uniform(2, 2, self.F, 4 * self.F)
        self.cl_bias = uniform(4 * self.F, scale=0.2)
        self.frame_kernel, self.frame_bias = uniform(1, 1, self.F, 1), uniform(1, scale=0.2)
        self.vec_head = linear(3 * 2 * self.F + self.F, 2)

    def named(self):
        return [("conv.kernel", self.conv_kernel), ("conv.bias", self.conv_bias),
                ("convlstm.kernel", self.cl_kernel), ("convlstm.recurrent_kernel", self.cl_recurrent),
                ("convlstm.bias", self.cl_bias), ("frame_head.kernel", self.frame_kernel),
                ("frame_head.bias", self.frame_bias), ("vec_head.weight", self.vec_head.weight),
                ("vec_head.bias", self.vec_head.bias)]

    def forward(self, clips):
        N, T = clips.shape[0], clips.shape[1]
        frames = torch.tanh(conv_same(clips.reshape(N * T, *clips.shape[2:]), self.conv_kernel, self.conv_bias))
        pooled = torch.nn.functional.max_pool2d(frames.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        zx = conv_valid(pooled, self.cl_kernel, self.cl_bias).reshape(N, T, 3, 2, 4 * self.F)
        F = self.F
        h = c = None
        hs = []
        for t in range(T):
            z = zx[:, t] if h is None else zx[:, t] + conv_same(h, self.cl_recurrent)
            i, f, g, o = (torch.sigmoid(z[..., :F]), torch.sigmoid(z[..., F:2 * F]), torch.tanh(z[..., 2 * F:3 * F]),
                          torch.sigmoid(z[..., 3 * F:]))
            c = i * g if c is None else f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
        seq = torch.stack(hs, 1)  # (N, T, 3, 2, F)
        frame_out = torch.sigmoid(conv_valid(seq.reshape(N * T, 3, 2, F), self.frame_kernel, self.frame_bias))
        vec = torch.cat([h.reshape(N, -1), c.mean((1, 2))], 1)
        return [frame_out.reshape(N, T, 3, 2, 1), self.vec_head(vec)], [None, None]

    @staticmethod
    def loss(preds, ys, masks):
        return ((preds[0] - ys[0]) ** 2).mean() + ((preds[1] - ys[1]) ** 2).mean()

    @classmethod
    def data(cls, rng):
        x = rng.uniform(-1, 1, (cls.N, cls.T, cls.H, cls.W, cls.C))
        y1, y2 = rng.uniform(0, 1, (cls.N, cls.T, 3, 2, 1)), rng.uniform(-1, 1, (cls.N, 2))
        f32 = lambda a: torch.tensor(a.astype(np.float32), dtype=torch.float64)
        return [f32(x)], [f32(y1), f32(y2)]


def seq2seq_case(attention, layers, bidirectional, smoothing):
    return type("Seq2seq_" + attention, (Seq2seq,), {
        "ATTENTION": attention, "LAYERS": layers, "BIDIRECTIONAL": bidirectional, "SMOOTHING": smoothing})


# name: (attention, layers, bidirectional encoder, label smoothing); test_graph_parity.cpp
# builds the same four
SEQ2SEQ_CASES = {
    "seq2seq_none": ("none", 1, False, 0.0),
    "seq2seq_dot": ("dot", 2, False, 0.0),
    "seq2seq_general": ("general", 1, True, 0.1),
    "seq2seq_additive": ("additive", 2, True, 0.1),
}


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.seq_lstm = lstm_module(3, 4)
        self.head1 = linear(4, 2)
        self.summary_gru = torch.nn.GRU(3, 4, batch_first=True)
        for p in self.summary_gru.parameters():
            p.data.uniform_(-0.5, 0.5)
        self.side = linear(4, 4)
        self.head2 = linear(4, 1)

    def named(self):
        g = self.summary_gru
        return (lstm_names("seq_lstm", self.seq_lstm)
                + [("head1.weight", self.head1.weight), ("head1.bias", self.head1.bias),
                   ("summary_gru.weight_ih", g.weight_ih_l0), ("summary_gru.weight_hh", g.weight_hh_l0),
                   ("summary_gru.bias_ih", g.bias_ih_l0), ("summary_gru.bias_hh", g.bias_hh_l0),
                   ("side.weight", self.side.weight), ("side.bias", self.side.bias),
                   ("head2.weight", self.head2.weight), ("head2.bias", self.head2.bias)])

    def forward(self, x1, x2):
        L = (x1 != 0).any(2).sum(1)  # Masking(0): a step of all zeros is padding (right-padded)
        seq, _ = run_packed(self.seq_lstm, x1, L)
        _, h = run_packed(self.summary_gru, x1, L)
        out2 = self.head2(h[0] + torch.tanh(self.side(x2)))
        return [self.head1(seq), out2], [L, None]

    @staticmethod
    def loss(preds, ys, masks):
        p1, p2 = preds
        valid = torch.arange(p1.shape[1])[None, :] < masks[0][:, None]
        l1 = ((p1 - ys[0]) ** 2).mean(2)[valid].mean()
        return l1 + 0.5 * ((p2 - ys[1]) ** 2).mean()

    @staticmethod
    def data(rng):
        N, T = 5, 4
        L = [4, 2, 3, 1, 4]
        x1 = rng.uniform(0.1, 1.0, (N, T, 3))
        for n in range(N):
            x1[n, L[n]:] = 0.0
        x2 = rng.uniform(-1, 1, (N, 4))
        y1, y2 = rng.uniform(-1, 1, (N, T, 2)), rng.uniform(-1, 1, (N, 1))
        f32 = lambda a: torch.tensor(a.astype(np.float32), dtype=torch.float64)
        return [f32(x1), f32(x2)], [f32(y1), f32(y2)]


def run(outdir, name, cls, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = cls()
    # float32 starting values, then everything in float64
    for p in model.parameters():
        p.data = p.data.float().double()
    model.double()
    xs, ys = cls.data(rng)
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "weights.safetensors"), [(n, p.detach().numpy()) for n, p in model.named()])
    for k, x in enumerate(xs):
        np.save(os.path.join(d, "x%d.npy" % k), x.numpy().astype(np.float32))
    for k, y in enumerate(ys):
        np.save(os.path.join(d, "y%d.npy" % k), y.numpy().astype(np.float32))
    preds, masks = model(*xs)
    loss = cls.loss(preds, ys, masks)
    loss.backward()
    for k, p in enumerate(preds):
        np.save(os.path.join(d, "pred%d.npy" % k), p.detach().numpy())
    np.save(os.path.join(d, "loss.npy"), np.array([loss.item()]))
    write_safetensors(os.path.join(d, "grads.safetensors"),
                      [(n, p.grad.numpy()) for n, p in model.named()], dtype=np.float64)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LR, eps=EPS)
    for _ in range(STEPS):
        opt.zero_grad()
        preds, masks = model(*xs)
        cls.loss(preds, ys, masks).backward()
        opt.step()
    write_safetensors(os.path.join(d, "trained.safetensors"),
                      [(n, p.detach().numpy()) for n, p in model.named()], dtype=np.float64)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"lr": LR, "epsilon": EPS, "steps": STEPS}, f)


def main():
    out = sys.argv[1]
    run(out, "translator", Translator, 1)
    run(out, "two_heads", TwoHeads, 2)
    run(out, "video", Video, 20)
    for seed, (name, case) in enumerate(SEQ2SEQ_CASES.items(), start=3):
        run(out, name, seq2seq_case(*case), seed)


if __name__ == "__main__":
    main()
