"""The PyTorch twin of `lstm seq2seq train` for the side-by-side runs of issue 15: the same pairs
files (--pairs for training, --test held out), the same tokens (characters or whitespace-split
words, no standardisation), the same network as lstm::seq2seq_model (include/lstm/seq2seq.h:
Embedding -> LSTM encoder, unidirectional or bidirectional with units/2 per direction, whose
final states start the decoder's layers; Luong's general attention on the decoder's output,
tanh(W[ctx, dec]), Linear to the target tokens), the same loss (cross-entropy with label
smoothing over the valid target steps), optimizer (Adam, Keras's epsilon 1e-7, global norm
clipping), batch size and epochs, batches bucketed by length; then greedy decoding of the test
sources. Prints the training time and the test exact match, token and word error rates.

    /usr/bin/python3 scripts/seq2seq_twin.py --pairs build/g2p/train.tsv --test build/g2p/test.tsv \\
        --target-level word [--epochs 10] [--threads 2]

Time it only with OpenBLAS installed (scripts/install-deps.sh bench).
"""
import argparse
import os
import random
import sys
import time

for k, arg in enumerate(sys.argv):  # OpenBLAS's threads too, before torch loads it
    if arg == "--threads" and k + 1 < len(sys.argv):
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[k + 1]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402
from edit_distance import edit_distance  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--pairs", required=True)
p.add_argument("--test", required=True)
p.add_argument("--source-level", default="char", choices=["char", "word"])
p.add_argument("--target-level", default="char", choices=["char", "word"])
p.add_argument("--attention", default="general", choices=["general"])
p.add_argument("--embedding", type=int, default=64)
p.add_argument("--units", type=int, default=128)
p.add_argument("--layers", type=int, default=1)
p.add_argument("--bidirectional", action="store_true")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--lr", type=float, default=0.002)
p.add_argument("--clipnorm", type=float, default=5.0)
p.add_argument("--label-smoothing", type=float, default=0.1)
p.add_argument("--max-tokens", type=int, default=0)
p.add_argument("--dropout", type=float, default=0.0)
p.add_argument("--outputs", default="", help="write the test outputs here, one per line")
p.add_argument("--one-bias", action="store_true",
               help="hold the LSTMs' bias_hh at zero, so each gate has one bias as lstm's LSTM does "
                    "(PyTorch's two biases move twice as far per Adam step)")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=42)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
random.seed(a.seed)


def read_pairs(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            s, t = line.rstrip("\r\n").split("\t")
            out.append((s, t))
    return out


def tokens(text, level):
    return list(text) if level == "char" else text.split()


class Vocab:
    """Keras's TextVectorization ids: 0 padding, 1 [UNK], then by count, ties by first use."""

    def __init__(self, texts, level, max_tokens=0):
        counts, first = {}, {}
        for t in texts:
            for tok in tokens(t, level):
                counts[tok] = counts.get(tok, 0) + 1
                first.setdefault(tok, len(first))
        order = sorted(counts, key=lambda k: (-counts[k], first[k]))
        if max_tokens > 0:
            order = order[:max_tokens - 2]
        self.itos = ["", "[UNK]"] + order
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.level = level

    def encode(self, text):
        return [self.stoi.get(t, 1) for t in tokens(text, self.level)]

    def decode(self, ids):
        toks = [self.itos[i] for i in ids]
        return "".join(toks) if self.level == "char" else " ".join(toks)


train, test = read_pairs(a.pairs), read_pairs(a.test)
sv = Vocab([s for s, _ in train], a.source_level, a.max_tokens)
tv = Vocab([t for _, t in train], a.target_level, a.max_tokens)
V = len(tv.itos) + 2
START, END = V - 2, V - 1
H, E, L = a.units, a.embedding, a.layers


class Seq2seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = torch.nn.Embedding(len(sv.itos), E, padding_idx=0)
        self.tgt_emb = torch.nn.Embedding(V, E, padding_idx=0)
        half = H // 2 if a.bidirectional else H
        self.encoder = torch.nn.LSTM(E, half, L, batch_first=True, bidirectional=a.bidirectional)
        self.decoder = torch.nn.LSTM(E, H, L, batch_first=True)
        self.key = torch.nn.Linear(H, H, bias=False)
        self.attentional = torch.nn.Linear(2 * H, H)
        self.out = torch.nn.Linear(H, V)
        self.drop = torch.nn.Dropout(a.dropout)

    def encode(self, src, ls):
        packed = pack_padded_sequence(self.drop(self.src_emb(src)), ls, batch_first=True, enforce_sorted=False)
        enc, (h, c) = self.encoder(packed)
        enc, _ = pad_packed_sequence(enc, batch_first=True, total_length=src.shape[1])
        if a.bidirectional:  # (L·2, B, H/2) -> (L, B, H): [forward, backward] per layer
            h = h.view(L, 2, h.shape[1], -1).permute(0, 2, 1, 3).reshape(L, h.shape[1], H)
            c = c.view(L, 2, c.shape[1], -1).permute(0, 2, 1, 3).reshape(L, c.shape[1], H)
        return enc, (h.contiguous(), c.contiguous())

    def attend(self, dec, enc, keys, ls):
        scores = dec @ keys.transpose(1, 2)
        mask = torch.arange(enc.shape[1])[None, None, :] < ls[:, None, None]
        w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
        return torch.tanh(self.attentional(torch.cat([w @ enc, dec], 2)))

    def forward(self, src, ls, tgt_in, lt):
        enc, state = self.encode(src, ls)
        packed = pack_padded_sequence(self.drop(self.tgt_emb(tgt_in)), lt, batch_first=True, enforce_sorted=False)
        dec, _ = self.decoder(packed, state)
        dec, _ = pad_packed_sequence(dec, batch_first=True, total_length=tgt_in.shape[1])
        return self.out(self.drop(self.attend(dec, enc, self.key(enc), ls)))

    @torch.no_grad()
    def greedy(self, src, ls):
        enc, (h, c) = self.encode(src, ls)
        keys = self.key(enc)
        B = src.shape[0]
        token = torch.full((B, 1), START, dtype=torch.long)
        out = [[] for _ in range(B)]
        done = torch.zeros(B, dtype=torch.bool)
        limit = 2 * ls + 10
        for t in range(int(limit.max()) + 1):
            dec, (h, c) = self.decoder(self.tgt_emb(token), (h, c))
            logits = self.out(self.attend(dec, enc, keys, ls))[:, 0]
            logits[:, 0] = -float("inf")
            logits[:, START] = -float("inf")
            best = logits.argmax(1)
            best = torch.where(t >= limit, torch.full_like(best, END), best)
            for b in range(B):
                if not done[b]:
                    if best[b] == END:
                        done[b] = True
                    else:
                        out[b].append(int(best[b]))
            if bool(done.all()):
                break
            token = best[:, None]
        return out


def pad(rows):
    T = max(len(r) for r in rows)
    return torch.tensor([r + [0] * (T - len(r)) for r in rows], dtype=torch.long)


def batches(pairs):
    """Bucketing as lstm's FitOptions::bucket_by_length: shuffle, sort by lengths, cut, shuffle."""
    order = list(range(len(pairs)))
    random.shuffle(order)
    order.sort(key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    cuts = [order[k:k + a.batch_size] for k in range(0, len(order), a.batch_size)]
    random.shuffle(cuts)
    return cuts


encoded = [(sv.encode(s), tv.encode(t)) for s, t in train]
model = Seq2seq()
if a.one_bias:
    for rnn in (model.encoder, model.decoder):
        for name, p_ in rnn.named_parameters():
            if name.startswith("bias_hh"):
                p_.data.zero_()
                p_.requires_grad_(False)
opt = torch.optim.Adam([p_ for p_ in model.parameters() if p_.requires_grad], lr=a.lr, eps=1e-7)
lossf = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=a.label_smoothing)
start = time.perf_counter()
for epoch in range(a.epochs):
    total, count = 0.0, 0
    for idx in batches(encoded):
        src = pad([encoded[i][0] for i in idx])
        tgt_in = pad([[START] + encoded[i][1] for i in idx])
        tgt_out = pad([encoded[i][1] + [END] for i in idx])
        ls = (src != 0).sum(1)
        lt = (tgt_in != 0).sum(1)
        opt.zero_grad()
        logits = model(src, ls, tgt_in, lt)
        loss = lossf(logits.reshape(-1, V), tgt_out.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clipnorm)
        opt.step()
        total += loss.item() * len(idx)
        count += len(idx)
    print("epoch %d/%d - %.1fs - loss %.5f" % (epoch + 1, a.epochs, time.perf_counter() - start, total / count),
          flush=True)
train_seconds = time.perf_counter() - start


def ngrams(toks, n):
    out = {}
    for i in range(len(toks) - n + 1):
        g = tuple(toks[i:i + n])
        out[g] = out.get(g, 0) + 1
    return out


def corpus_bleu(hyps, refs):
    """sacreBLEU's corpus_bleu(tokenize="none"), smooth "exp": written apart from lstm's."""
    import math
    match, total, hl, rl = [0] * 4, [0] * 4, 0, 0
    for h, r in zip(hyps, refs):
        hl, rl = hl + len(h), rl + len(r)
        for n in range(1, 5):
            hg, rg = ngrams(h, n), ngrams(r, n)
            match[n - 1] += sum(min(c, rg.get(g, 0)) for g, c in hg.items())
            total[n - 1] += max(len(h) - n + 1, 0)
    if min(total) == 0:
        return 0.0
    logs, smooth = 0.0, 1.0
    for m, t in zip(match, total):
        if m == 0:
            smooth *= 2
            logs += math.log(1.0 / (smooth * t))
        else:
            logs += math.log(m / t)
    bp = math.exp(1 - rl / hl) if hl < rl else 1.0
    return 100 * bp * math.exp(logs / 4)


def corpus_chrf(hyps, refs):
    """sacreBLEU 2's CHRF(): character 6-grams without whitespace, beta 2."""
    stats = [[0, 0, 0] for _ in range(6)]
    for h, r in zip(hyps, refs):
        h, r = "".join(h.split()), "".join(r.split())
        for n in range(1, 7):
            hg, rg = ngrams(h, n), ngrams(r, n)
            stats[n - 1][0] += sum(hg.values())
            stats[n - 1][1] += sum(rg.values())
            stats[n - 1][2] += sum(min(c, rg.get(g, 0)) for g, c in hg.items())
    prec = rec = 0.0
    orders = 0
    for nh, nr, nm in stats:
        if nh > 0 and nr > 0:
            prec, rec, orders = prec + nm / nh, rec + nm / nr, orders + 1
    if orders == 0:
        return 0.0
    prec, rec = prec / orders, rec / orders
    return 100 * 5 * prec * rec / (4 * prec + rec) if prec + rec > 0 else 0.0


model.eval()
outputs = []
t0 = time.perf_counter()
for k in range(0, len(test), 256):
    chunk = [sv.encode(s) for s, _ in test[k:k + 256]]
    src = pad(chunk)
    outputs += [tv.decode(o) for o in model.greedy(src, (src != 0).sum(1))]
decode_seconds = time.perf_counter() - t0
exact = edits = ref_tokens = word_edits = ref_words = 0
for (s, ref), out in zip(test, outputs):
    r, h = tokens(ref, a.target_level), tokens(out, a.target_level)
    exact += r == h
    edits += edit_distance(h, r)
    ref_tokens += len(r)
    word_edits += edit_distance(out.split(), ref.split())
    ref_words += len(ref.split())
print("pytorch %s threads %d: train %.1f s (%d epochs), greedy decode %.1f s" % (
    torch.__version__, a.threads, train_seconds, a.epochs, decode_seconds))
print("test %d pairs: exact match %.4f, token error rate %.4f, word error rate %.4f, BLEU-4 %.2f, chrF %.2f" % (
    len(test), exact / len(test), edits / ref_tokens, word_edits / ref_words,
    corpus_bleu([o.split() for o in outputs], [r.split() for _, r in test]),
    corpus_chrf(outputs, [r for _, r in test])))
if a.outputs:
    with open(a.outputs, "w", encoding="utf-8") as f:
        f.write("".join(o + "\n" for o in outputs))
