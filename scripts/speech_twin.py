"""The PyTorch twin of `lstm speech train` for the side-by-side runs of issue 16: the same
recordings and transcripts, the same features (log-mel written out in NumPy from the same
formulas, tests/parity/feature_reference.py, which the parity test holds to lstm's own within
1e-4), global normalisation from the training frames, frames stacked the same way, the same
network (Bidirectional LSTM x layers -> Linear to the blank + characters), loss (CTC,
torch.nn.functional.ctc_loss summed over the batch / its size), optimizer (Adam, epsilon 1e-7,
global norm clipping), batch size, batches bucketed by length, early stopping on the
validation loss with the best epoch's weights; then greedy decoding of each --test file.
PyTorch's own initialisation (what a PyTorch user gets). Prints the training time and the word
and character error rates.

    /usr/bin/python3 scripts/speech_twin.py --audio DATA --transcripts DATA/train.tsv \\
        --valid DATA/valid.tsv --test DATA/real-digits.tsv --test DATA/real-strings.tsv \\
        [--sample-rate 8000] [--epochs 30] [--threads 2]

The recordings must already be at --sample-rate (scripts/speech_data.py writes 8 kHz): the twin
does not resample. Time it only with OpenBLAS installed (scripts/install-deps.sh bench).
"""
import argparse
import os
import random
import sys
import time
import wave

for k, arg in enumerate(sys.argv):  # OpenBLAS's threads too, before torch loads it
    if arg == "--threads" and k + 1 < len(sys.argv):
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[k + 1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
import feature_reference  # noqa: E402
from edit_distance import edit_distance  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--audio", required=True)
p.add_argument("--transcripts", required=True)
p.add_argument("--valid", required=True)
p.add_argument("--test", action="append", default=[])
p.add_argument("--sample-rate", type=int, default=8000)
p.add_argument("--mel-bands", type=int, default=40)
p.add_argument("--stack", type=int, default=2)
p.add_argument("--units", type=int, default=128)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--epochs", type=int, default=30)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--lr", type=float, default=0.002)
p.add_argument("--clipnorm", type=float, default=5.0)
p.add_argument("--patience", type=int, default=5)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)

OPTIONS = feature_reference.options(sample_rate=a.sample_rate, mel_bands=a.mel_bands, deltas=0, normalization="none")


def normalize(text):
    return " ".join(text.lower().split())


def read_set(tsv):
    rows = []
    base = a.audio
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            path, text = line.rstrip("\n").split("\t")
            rows.append((os.path.join(base, path), normalize(text)))
    return rows


def features(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != a.sample_rate or w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f"{path}: the twin reads 16-bit mono at {a.sample_rate} Hz only")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return feature_reference.features(x, OPTIONS).astype(np.float32)


def stack(f):
    T, F = f.shape
    Ts = (T + a.stack - 1) // a.stack
    out = np.zeros((Ts * a.stack, F), dtype=np.float32)
    out[:T] = f
    return out.reshape(Ts, F * a.stack)


t0 = time.time()
train_rows, valid_rows = read_set(a.transcripts), read_set(a.valid)
labels = sorted({c for _, t in train_rows for c in t})
index = {c: k + 1 for k, c in enumerate(labels)}
train_f = [features(p_) for p_, _ in train_rows]
allf = np.concatenate(train_f)
mean, sd = allf.mean(axis=0), np.maximum(allf.std(axis=0), 1e-5)


def prepare(rows, feats=None):
    feats = feats if feats is not None else [features(p_) for p_, _ in rows]
    xs = [torch.from_numpy(stack((f - mean) / sd)) for f in feats]
    ys = [torch.tensor([index[c] for c in t if c in index], dtype=torch.long) for _, t in rows]
    return xs, ys


train_x, train_y = prepare(train_rows, train_f)
valid_x, valid_y = prepare(valid_rows)
print(f"features of {len(train_rows)} + {len(valid_rows)} recordings in {time.time() - t0:.1f} s", flush=True)


class Net(torch.nn.Module):
    def __init__(self, D, C):
        super().__init__()
        self.lstm = torch.nn.LSTM(D, a.units, a.layers, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(2 * a.units, C)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(h, batch_first=True)
        return self.out(h)


net = Net(train_x[0].shape[1], len(labels) + 1)
opt = torch.optim.Adam(net.parameters(), lr=a.lr, eps=1e-7)


def batches(xs, ys, shuffle):
    order = list(range(len(xs)))
    if shuffle:
        random.shuffle(order)
    order.sort(key=lambda k: xs[k].shape[0])  # stable: shuffled within equal lengths
    groups = [order[i:i + a.batch_size] for i in range(0, len(order), a.batch_size)]
    if shuffle:
        random.shuffle(groups)
    for g in groups:
        lengths = torch.tensor([xs[k].shape[0] for k in g])
        x = torch.nn.utils.rnn.pad_sequence([xs[k] for k in g], batch_first=True)
        y = torch.nn.utils.rnn.pad_sequence([ys[k] for k in g], batch_first=True)
        yl = torch.tensor([len(ys[k]) for k in g])
        yield x, lengths, y, yl


def ctc(z, lengths, y, yl):
    lp = torch.nn.functional.log_softmax(z, dim=-1).transpose(0, 1)
    return torch.nn.functional.ctc_loss(lp, y, lengths, yl, blank=0, reduction="sum") / z.shape[0]


best, best_state, wait = float("inf"), None, 0
start = time.time()
epochs = 0
for epoch in range(a.epochs):
    net.train()
    total, n = 0.0, 0
    e0 = time.time()
    for x, lengths, y, yl in batches(train_x, train_y, True):
        opt.zero_grad()
        loss = ctc(net(x, lengths), lengths, y, yl)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), a.clipnorm)
        opt.step()
        total += loss.item() * x.shape[0]
        n += x.shape[0]
    net.eval()
    with torch.no_grad():
        vt = sum(ctc(net(x, l), l, y, yl).item() * x.shape[0] for x, l, y, yl in batches(valid_x, valid_y, False))
    val = vt / len(valid_x)
    epochs += 1
    print(f"epoch {epoch + 1}/{a.epochs} - {time.time() - e0:.1f} s - loss {total / n:.4f} - val_loss {val:.4f}", flush=True)
    if val < best:
        best, wait = val, 0
        best_state = {k: v.clone() for k, v in net.state_dict().items()}
    else:
        wait += 1
        if wait >= a.patience:  # Keras's EarlyStopping: `patience` epochs without improvement
            break
train_seconds = time.time() - start
net.load_state_dict(best_state)


def greedy(z):
    out, prev = [], 0
    for k in z.argmax(dim=-1).tolist():
        if k != 0 and k != prev:
            out.append(labels[k - 1])
        prev = k
    return "".join(out)


print("pytorch %s threads %d: train %.1f s (%d epochs, best val_loss %.4f)" % (
    torch.__version__, a.threads, train_seconds, epochs, best))
net.eval()
for tsv in a.test:
    rows = read_set(tsv)
    xs, _ = prepare(rows)
    we = wn = ce = cn = right = 0
    with torch.no_grad():
        for (path, ref), x in zip(rows, xs):
            hyp = greedy(net(x[None], torch.tensor([x.shape[0]]))[0])
            we += edit_distance(ref.split(), hyp.split())
            wn += len(ref.split())
            ce += edit_distance(list(ref), list(hyp))
            cn += len(ref)
            right += hyp == ref
    print(f"{os.path.basename(tsv)}: {len(rows)} recordings, word error rate {we / wn:.4f}, "
          f"character error rate {ce / cn:.4f}, sentences right {right / len(rows):.4f}", flush=True)
