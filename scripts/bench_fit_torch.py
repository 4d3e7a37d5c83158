"""The use-case rows of `lstm bench --fit` in PyTorch 1.13: the same four models, data of the same
shapes in memory, whole training steps (zero_grad, forward, loss, backward, clipping where the
job clips, the optimizer step) and predict calls on one batch, timed the same way (calls per
second: best of 5 windows after 3 warm-up calls). Prints one JSON object per row, as
`lstm bench --fit --json` does.

    /usr/bin/python3 scripts/bench_fit_torch.py THREADS [SECONDS [NAME]]   # NAME: only that row
    /usr/bin/python3 scripts/bench_fit_torch.py --which-blas   # the BLAS library torch runs on

Time it only with OpenBLAS installed (scripts/install-deps.sh bench): python3-torch alone runs
on the reference BLAS. The sentiment model runs its padded texts packed
(pack_padded_sequence), PyTorch's fastest way, as `lstm` skips the padded steps."""
import json
import sys
import time

import torch
from torch import nn

BATCHES_PER_FIT = 8


class LastStep(nn.Module):
    """LSTM(units) over (B, T, I) -> Dense(1) on the last step (the seed's model)."""

    def __init__(self, inputs, units):
        super().__init__()
        self.lstm = nn.LSTM(inputs, units, batch_first=True)
        self.head = nn.Linear(units, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class Sentiment(nn.Module):
    """Embedding(5000, 32, padding 0) -> LSTM(64) over each text's words -> Dense(1, sigmoid)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5000, 32, padding_idx=0)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.head = nn.Linear(64, 1)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(x), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return torch.sigmoid(self.head(h[-1]))


class CharLM(nn.Module):
    """Embedding(81, 64) -> LSTM(256) -> Dense(81) at every step (softmax in the loss)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(81, 64)
        self.lstm = nn.LSTM(64, 256, batch_first=True)
        self.head = nn.Linear(256, 81)

    def forward(self, x):
        out, _ = self.lstm(self.embed(x))
        return self.head(out)


def use_cases():
    g = torch.Generator().manual_seed(7)
    cases = []
    # name, B, T, model, inputs (N = 8 B), targets, loss, optimizer settings, clip norm
    B, T = 32, 30
    N = BATCHES_PER_FIT * B
    cases.append(("fit-forecaster", B, T, LastStep(1, 50), (torch.rand(N, T, 1, generator=g) * 2 - 1,),
                  torch.rand(N, 1, generator=g) * 2 - 1, nn.MSELoss(), 1e-3, 0.0))
    B, T = 64, 100
    N = BATCHES_PER_FIT * B
    x = torch.zeros(N, T, 2)
    x[:, :, 0] = torch.rand(N, T, generator=g)
    a = torch.randint(0, T // 2, (N,), generator=g)
    b = torch.randint(T // 2, T, (N,), generator=g)
    x[torch.arange(N), a, 1] = 1
    x[torch.arange(N), b, 1] = 1
    y = (x[torch.arange(N), a, 0] + x[torch.arange(N), b, 0]).unsqueeze(1)
    cases.append(("fit-adding", B, T, LastStep(2, 64), (x,), y, nn.MSELoss(), 1e-3, 0.0))
    B, T = 32, 100
    N = BATCHES_PER_FIT * B
    lengths = torch.randint(5, 41, (N,), generator=g)
    words = torch.randint(1, 5000, (N, T), generator=g)
    words[torch.arange(T).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    cases.append(("fit-sentiment", B, T, Sentiment(), (words, lengths),
                  torch.randint(0, 2, (N, 1), generator=g).float(), nn.BCELoss(), 5e-3, 0.0))
    B, T = 32, 100
    N = BATCHES_PER_FIT * B
    cases.append(("fit-charlm", B, T, CharLM(), (torch.randint(0, 81, (N, T), generator=g),),
                  torch.randint(0, 81, (N, T), generator=g), nn.CrossEntropyLoss(), 2e-3, 5.0))
    return cases


def rate(f, seconds, windows=5):
    for _ in range(3):
        f()
    best = 0.0
    for _ in range(windows):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            f()
            n += 1
        best = max(best, n / (time.perf_counter() - t0))
    return best


def which_blas():
    """The BLAS library this process loaded for torch's matrix products (lstm demo speed checks
    that it is OpenBLAS, not the reference BLAS that python3-torch alone brings)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
    return paths[0] if paths else "unknown"


def main():
    if sys.argv[1:] == ["--which-blas"]:
        print(json.dumps({"blas": which_blas()}))
        return
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    only = sys.argv[3] if len(sys.argv) > 3 else None
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    for name, B, T, model, inputs, targets, loss_fn, lr, clip in use_cases():
        if only and name != only:
            continue
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        N = targets.shape[0]

        def fit():  # one epoch over the 8 batches, in order
            model.train()
            for k in range(0, N, B):
                opt.zero_grad()
                out = model(*(v[k:k + B] for v in inputs))
                tgt = targets[k:k + B]
                if name == "fit-charlm":
                    out, tgt = out.reshape(-1, 81), tgt.reshape(-1)
                loss = loss_fn(out, tgt)
                loss.backward()
                if clip:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()

        def predict():
            model.eval()
            with torch.no_grad():
                model(*(v[:B] for v in inputs))

        fits = rate(fit, seconds)
        print(json.dumps({"name": name + "-train", "B": B, "T": T, "mode": "train", "threads": threads,
                          "throughput": fits * N, "unit": "seq/s",
                          "ns_per_step": 1e9 / (fits * BATCHES_PER_FIT) / T}), flush=True)
        predicts = rate(predict, seconds)
        print(json.dumps({"name": name + "-predict", "B": B, "T": T, "mode": "predict", "threads": threads,
                          "throughput": predicts * B, "unit": "seq/s", "ns_per_step": 1e9 / predicts / T}),
              flush=True)


if __name__ == "__main__":
    main()
