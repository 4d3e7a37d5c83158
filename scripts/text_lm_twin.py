"""The PyTorch twin of `lstm text train` (character level) for the side-by-side comparison of
issue 14: the same split (the first 90% of the characters train, the last 10% score), the same
vocabulary rule (the training part's characters; others read as [UNK] = 1, padding 0), the same
windows (lookback T, stride T), model (Embedding(V, E) -> LSTM(H) -> Linear(H, V)), loss,
optimizer (Adam, learning rate, global gradient-norm clip) and epochs; prints the held-out bits
per character and the training wall time.

    /usr/bin/python3 scripts/text_lm_twin.py TEXT [--epochs 6] [--threads 1] [--units 256]
        [--embedding 64] [--lookback 100] [--batch-size 32] [--lr 0.002] [--clipnorm 5]

Time it only with OpenBLAS installed (scripts/install-deps.sh bench; ../shared/bench/ANCHORS.md).
"""
import argparse
import collections
import math
import os
import sys
import time

# --threads bounds OpenBLAS's own threads too (torch.set_num_threads does not reach them: without
# this, "--threads 1" ran its GEMMs on every core), so it is set before torch loads OpenBLAS.
for k, arg in enumerate(sys.argv):
    if arg == "--threads" and k + 1 < len(sys.argv):
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[k + 1]
    elif arg.startswith("--threads="):
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = arg.split("=", 1)[1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("text")
p.add_argument("--epochs", type=int, default=6)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--units", type=int, default=256)
p.add_argument("--embedding", type=int, default=64)
p.add_argument("--lookback", type=int, default=100)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--lr", type=float, default=0.002)
p.add_argument("--clipnorm", type=float, default=5.0)
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

text = open(a.text, encoding="utf-8").read()
chars = list(text)
n_train = len(chars) - math.ceil(len(chars) * 0.1)
counts = collections.Counter(chars[:n_train])
first = {}
for i, c in enumerate(chars[:n_train]):
    first.setdefault(c, i)
vocab = sorted(counts, key=lambda c: (-counts[c], first[c]))
ids = {c: k + 2 for k, c in enumerate(vocab)}
V = len(vocab) + 2
stream = torch.tensor([ids.get(c, 1) for c in chars], dtype=torch.long)
train, held = stream[:n_train], stream[n_train:]


def windows(s, T):
    n = (len(s) - T - 1) // T + 1
    x = torch.stack([s[k * T:k * T + T] for k in range(n)])
    y = torch.stack([s[k * T + 1:k * T + T + 1] for k in range(n)])
    return x, y


X, Y = windows(train, a.lookback)
T_held = min(a.lookback, len(held) - 1)
hX, hY = windows(held, T_held)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, a.embedding)
        self.lstm = torch.nn.LSTM(a.embedding, a.units, batch_first=True)
        self.out = torch.nn.Linear(a.units, V)

    def forward(self, x):
        return self.out(self.lstm(self.emb(x))[0])


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
steps = 0
start = time.time()
for epoch in range(a.epochs):
    order = torch.randperm(len(X))
    for b in range(0, len(X), a.batch_size):
        idx = order[b:b + a.batch_size]
        opt.zero_grad()
        loss = loss_fn(model(X[idx]).reshape(-1, V), Y[idx].reshape(-1))
        loss.backward()
        if a.clipnorm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clipnorm)
        opt.step()
        steps += 1
seconds = time.time() - start
with torch.no_grad():
    total, n = 0.0, 0
    for b in range(0, len(hX), 256):
        logits = model(hX[b:b + 256])
        total += torch.nn.functional.cross_entropy(logits.reshape(-1, V), hY[b:b + 256].reshape(-1), reduction="sum").item()
        n += hY[b:b + 256].numel()
print(f"pytorch {torch.__version__}: {steps} steps in {seconds:.1f} s ({a.threads} thread(s)); "
      f"held-out {total / n / math.log(2):.4f} bits per character ({n} characters, V = {V})")
