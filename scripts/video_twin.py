#!/usr/bin/python3
"""The PyTorch twin of `lstm video train` (architecture convlstm) and `lstm video predict-frames`:
the same network, initialisation (Keras's: glorot_uniform kernels, an orthogonal recurrent
kernel, the forget gate's bias one), loss, Adam (epsilon 1e-7), batch, epochs and held-out part,
on the same files, timed the same way (reading excluded). The ConvLSTM is written out as its six
equations over torch's conv2d (PyTorch has no ConvLSTM); tests/parity/graph_reference.py checks
that lstm computes the same to 1e-5.

    /usr/bin/python3 scripts/video_twin.py classify --clips DIR --test-clips DIR [--frames 10]
        [--filters 16] [--epochs 20] [--batch-size 16] [--lr 0.003] [--threads 1]
    /usr/bin/python3 scripts/video_twin.py frames --data bouncing.npy --test bouncing_test.npy
        [--filters 8] [--epochs 10] [--batch-size 8] [--lr 0.003] [--threads 1]

Needs python3-torch with OpenBLAS (scripts/install-deps.sh bench); scripts/video_side_by_side.sh
runs both sides.
"""
import argparse
import csv
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as Fn


def glorot(shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(*shape).uniform_(-limit, limit)


def orthogonal(rows, cols):
    a = torch.randn(max(rows, cols), min(rows, cols))
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    return q if rows >= cols else q.T


class ConvLSTM(torch.nn.Module):
    """Keras's ConvLSTM2D(filters, (k, k), padding="same"), channels first inside."""

    def __init__(self, C, F, k=3):
        super().__init__()
        self.F, self.k = F, k
        kernel = glorot((k, k, C, 4 * F), k * k * C, k * k * 4 * F)
        recurrent = orthogonal(k * k * F, 4 * F).reshape(k, k, F, 4 * F)
        self.wx = torch.nn.Parameter(kernel.permute(3, 2, 0, 1).contiguous())     # (4F, C, k, k)
        self.wh = torch.nn.Parameter(recurrent.permute(3, 2, 0, 1).contiguous())  # (4F, F, k, k)
        bias = torch.zeros(4 * F)
        bias[F:2 * F] = 1.0
        self.b = torch.nn.Parameter(bias)

    def forward(self, x):  # x (N, T, C, H, W) -> every h_t (N, T, F, H, W)
        N, T, C, H, W = x.shape
        F = self.F
        zx = Fn.conv2d(x.reshape(N * T, C, H, W), self.wx, self.b, padding="same").reshape(N, T, 4 * F, H, W)
        h = c = None
        hs = []
        for t in range(T):
            z = zx[:, t] if h is None else zx[:, t] + Fn.conv2d(h, self.wh, padding="same")
            i, f = torch.sigmoid(z[:, :F]), torch.sigmoid(z[:, F:2 * F])
            g, o = torch.tanh(z[:, 2 * F:3 * F]), torch.sigmoid(z[:, 3 * F:])
            c = i * g if c is None else f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, 1)


class Classifier(torch.nn.Module):
    """MaxPooling2D(2) -> ConvLSTM2D(F, 3x3, same) -> GlobalAveragePooling2D -> Dense(K)."""

    def __init__(self, C, F, K):
        super().__init__()
        self.cell = ConvLSTM(C, F)
        self.head = torch.nn.Linear(F, K)
        self.head.weight.data = glorot((K, F), F, K)
        self.head.bias.data.zero_()

    def forward(self, x):  # (N, T, C, H, W) -> logits (N, K)
        N, T, C, H, W = x.shape
        pooled = Fn.max_pool2d(x.reshape(N * T, C, H, W), 2).reshape(N, T, C, H // 2, W // 2)
        return self.head(self.cell(pooled)[:, -1].mean((2, 3)))


class FramePredictor(torch.nn.Module):
    """ConvLSTM2D(F, 3x3, same, return_sequences) -> Conv2D(C, 1x1, sigmoid)."""

    def __init__(self, C, F):
        super().__init__()
        self.cell = ConvLSTM(C, F)
        self.head = torch.nn.Parameter(glorot((C, F, 1, 1), F, C))
        self.bias = torch.nn.Parameter(torch.zeros(C))

    def forward(self, x):  # (N, T, C, H, W) -> next frames, probabilities (N, T, C, H, W)
        N, T, C, H, W = x.shape
        seq = self.cell(x)
        y = Fn.conv2d(seq.reshape(N * T, -1, H, W), self.head, self.bias)
        return torch.sigmoid(y).reshape(N, T, C, H, W)


def read_clips(dir, frames):
    with open(os.path.join(dir, "labels.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    clips = []
    for r in rows:
        a = np.load(os.path.join(dir, r["file"]))
        if a.ndim == 3:
            a = a[..., None]
        clips.append(a[:frames])
    return np.stack(clips).astype(np.float32), [r["label"] for r in rows]


def nchw(a):  # (N, T, H, W, C) -> (N, T, C, H, W)
    return torch.tensor(a).permute(0, 1, 4, 2, 3).contiguous()


def train(model, x, y, loss_fn, a):
    """Shuffled mini-batches of the first 1 - validation_fraction, as lstm's fit does."""
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
    n = x.shape[0]
    n_train = n - (max(1, int(n * a.validation_fraction)) if a.validation_fraction > 0 else 0)
    g = torch.Generator().manual_seed(a.seed)
    start = time.perf_counter()
    for epoch in range(a.epochs):
        order = torch.randperm(n_train, generator=g)
        total = 0.0
        for b in range(0, n_train, a.batch_size):
            idx = order[b:b + a.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print("epoch %d/%d - %.2fs - loss %.5f" % (epoch + 1, a.epochs, time.perf_counter() - start, total / n_train),
              flush=True)
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("task", choices=["classify", "frames"])
    p.add_argument("--clips"), p.add_argument("--test-clips"), p.add_argument("--data"), p.add_argument("--test")
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--filters", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--validation-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    if a.task == "classify":
        a.filters, a.epochs, a.batch_size = a.filters or 16, a.epochs or 20, a.batch_size or 16
        xs, labels = read_clips(a.clips, a.frames)
        xt, test_labels = read_clips(a.test_clips, a.frames)
        classes = sorted(set(labels))
        rng = np.random.default_rng(a.seed)
        order = rng.permutation(len(labels))
        x = nchw(xs[order])
        y = torch.tensor([classes.index(labels[k]) for k in order])
        model = Classifier(x.shape[2], a.filters, len(classes))
        seconds = train(model, x, y, Fn.cross_entropy, a)
        with torch.no_grad():
            pred = model(nchw(xt)).argmax(1).numpy()
        truth = np.array([classes.index(l) for l in test_labels])
        print("PyTorch twin: held-out accuracy %.4f on %d clips; training %.1f s (%d threads)"
              % ((pred == truth).mean(), len(truth), seconds, a.threads))
    else:
        a.filters, a.epochs, a.batch_size = a.filters or 8, a.epochs or 10, a.batch_size or 8
        seqs, test = np.load(a.data).astype(np.float32), np.load(a.test).astype(np.float32)
        if seqs.ndim == 4:
            seqs, test = seqs[..., None], test[..., None]
        rng = np.random.default_rng(a.seed)
        s = nchw(seqs[rng.permutation(len(seqs))])
        model = FramePredictor(s.shape[2], a.filters)
        bce = lambda p, y: Fn.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), y)
        seconds = train(model, s[:, :-1], s[:, 1:], bce, a)
        t = nchw(test).double()
        with torch.no_grad():
            pred = model(t[:, :-1].float()).double()
        truth, last = t[:, 1:], t[:, :-1]
        print("PyTorch twin: one step ahead, per pixel: cross-entropy %.5f, MSE %.5f (copy the last frame: %.5f, %.5f);"
              " training %.1f s (%d threads)"
              % (Fn.binary_cross_entropy(pred.clamp(1e-7, 1 - 1e-7), truth).item(), ((pred - truth) ** 2).mean().item(),
                 Fn.binary_cross_entropy(last.clamp(1e-7, 1 - 1e-7), truth).item(), ((last - truth) ** 2).mean().item(),
                 seconds, a.threads))


if __name__ == "__main__":
    main()
