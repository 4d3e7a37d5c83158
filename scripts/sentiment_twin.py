"""The PyTorch twin of `lstm classify train` for the side-by-side comparison of issue 14: the
same rows (a TSV filtered on one column, as --where), the same split (the rows shuffled by the
same PCG32 Fisher-Yates with the seed, the last test fraction held out), the same vocabulary rule
(Keras's TextVectorization: ASCII lower-case, ASCII punctuation removed, split on whitespace;
the training part's words by count then first appearance, max_tokens with padding 0 and [UNK] 1),
the first max_length words, the same model (Embedding(V, 32) -> LSTM(64) over the words present,
as mask_zero -> Linear(64, 1) -> sigmoid), loss (binary cross-entropy), optimizer (Adam, its
learning rate, Keras's epsilon), batch and epochs; prints the test accuracy and the wall time.

    /usr/bin/python3 scripts/sentiment_twin.py data/text/sentiment.tsv --where source=amazon,yelp
        [--epochs 5] [--threads 1] [--seed 42]

Two classes only (the sentiment data's). Time it only with OpenBLAS installed
(scripts/install-deps.sh bench).
"""
import argparse
import math
import os
import re
import string
import sys
import time

for k, arg in enumerate(sys.argv):  # OpenBLAS's threads too, before torch loads it
    if arg == "--threads" and k + 1 < len(sys.argv):
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[k + 1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--where", default="")
p.add_argument("--text-column", default="text")
p.add_argument("--label-column", default="label")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--embedding", type=int, default=32)
p.add_argument("--units", type=int, default=64)
p.add_argument("--max-tokens", type=int, default=20000)
p.add_argument("--max-length", type=int, default=100)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--lr", type=float, default=0.005)
p.add_argument("--test-fraction", type=float, default=0.2)
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)


class Pcg32:
    """src/core/rng.h, bit for bit: the split is the same rows as lstm's."""
    M = (1 << 64) - 1

    def __init__(self, seed):
        self.state = 0
        self.next_u32()
        self.state = (self.state + seed) & self.M
        self.next_u32()

    def next_u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + 1442695040888963407) & self.M
        x = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((x >> rot) | (x << ((32 - rot) & 31))) & 0xFFFFFFFF

    def below(self, n):
        m = self.next_u32() * n
        low = m & 0xFFFFFFFF
        if low < n:
            threshold = ((1 << 32) - n) % n
            while low < threshold:
                m = self.next_u32() * n
                low = m & 0xFFFFFFFF
        return m >> 32


lines = open(a.data, encoding="utf-8").read().split("\n")
header = lines[0].rstrip("\r").split("\t")
t_col, l_col = header.index(a.text_column), header.index(a.label_column)
keep = None
if a.where:
    column, values = a.where.split("=", 1)
    keep = (header.index(column), set(values.split(",")))
texts, labels = [], []
for line in lines[1:]:
    if not line:
        continue
    cells = line.rstrip("\r").split("\t")
    if keep and cells[keep[0]] not in keep[1]:
        continue
    texts.append(cells[t_col])
    labels.append(cells[l_col])
classes = sorted(set(labels))
assert len(classes) == 2, classes
N = len(texts)
order = list(range(N))
rng = Pcg32(a.seed)
for k in range(N - 1, 0, -1):
    j = rng.below(k + 1)
    order[k], order[j] = order[j], order[k]
n_test = math.ceil(N * a.test_fraction)
train_rows, test_rows = order[:N - n_test], order[N - n_test:]

LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
STRIP = {ord(c): None for c in string.punctuation}


def words(text):
    return [w for w in re.split("[ \t\n\v\f\r]+", text.translate(LOWER).translate(STRIP)) if w]  # ASCII whitespace


counts, first = {}, {}
for r in train_rows:
    for w in words(texts[r]):
        counts[w] = counts.get(w, 0) + 1
        first.setdefault(w, len(first))
vocab = sorted(counts, key=lambda w: (-counts[w], first[w]))[:a.max_tokens - 2]
ids = {w: k + 2 for k, w in enumerate(vocab)}
V = len(vocab) + 2


def encode(rows):
    x = torch.zeros(len(rows), a.max_length, dtype=torch.long)
    lengths = torch.zeros(len(rows), dtype=torch.long)
    y = torch.zeros(len(rows), 1)
    for n, r in enumerate(rows):
        w = [ids.get(t, 1) for t in words(texts[r])][:a.max_length]
        x[n, :len(w)] = torch.tensor(w, dtype=torch.long)
        lengths[n] = len(w)
        y[n, 0] = float(classes.index(labels[r]))
    return x, lengths, y


X, L, Y = encode(train_rows)
Xt, Lt, Yt = encode(test_rows)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, a.embedding)
        self.lstm = torch.nn.LSTM(a.embedding, a.units, batch_first=True)
        self.out = torch.nn.Linear(a.units, 1)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.emb(x), lengths.clamp(min=1), batch_first=True,
                                                         enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        h = h[-1] * (lengths > 0).unsqueeze(1)  # no word: the initial state's output, as mask_zero
        return self.out(h)


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
loss_fn = torch.nn.BCEWithLogitsLoss()
start = time.time()
for epoch in range(a.epochs):
    perm = torch.randperm(len(X))
    for b in range(0, len(X), a.batch_size):
        idx = perm[b:b + a.batch_size]
        opt.zero_grad()
        loss_fn(model(X[idx], L[idx]), Y[idx]).backward()
        opt.step()
seconds = time.time() - start
with torch.no_grad():
    accuracy = ((model(Xt, Lt) > 0).float() == Yt).float().mean().item()
print(f"pytorch {torch.__version__}: {a.epochs} epochs in {seconds:.1f} s ({a.threads} thread(s)); "
      f"test accuracy {accuracy:.4f} on {len(test_rows)} texts ({N - n_test} trained on, V = {V})")
