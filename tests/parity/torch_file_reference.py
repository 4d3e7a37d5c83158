"""torch.save files for lstm's restricted reader (src/io/torch_file.h), written by PyTorch itself.

    /usr/bin/python3 tests/parity/torch_file_reference.py OUTDIR   (torch_reference.py calls it too)

Writes OUTDIR/torch-files/<case>.pt and, for each tensor of it, <case>/<k>.npy (float32, the
tensor as PyTorch reads it back) with <case>/names.txt ("<k> <name> <dtype>" per line, in the
file's order). Cases: a stacked bidirectional LSTM with proj_size, a GRU and Linear module
(nested names), a strided view and a slice sharing one storage, every dtype torch writes for
weights and counters, an nn.Parameter itself. And one that must be refused: evil.pt, whose
pickle names os.system (torch.load would run it; the reader must not), and deflated.pt, a
torch.save archive zipped again with compression.
"""
import os
import sys
import zipfile

import numpy as np
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 5, batch_first=True)
        self.head = torch.nn.Linear(5, 2)
        self.norm = torch.nn.BatchNorm1d(2)  # num_batches_tracked: an int64 counter


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this ran",))


def cases():
    torch.manual_seed(0)
    yield "lstm_bi_proj", torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).state_dict()
    yield "gru_linear", Net().state_dict()
    x = torch.randn(4, 6)
    yield "views", {"whole": x, "transposed": x.t(), "rows": x[1:3], "column": x[:, 2], "scalar": x[2, 3]}
    yield "dtypes", {"f64": torch.randn(2, 3, dtype=torch.float64), "f16": torch.randn(5).half(),
                     "bf16": torch.randn(3, 2).bfloat16(), "i64": torch.tensor([7, -3], dtype=torch.int64),
                     "i32": torch.arange(4, dtype=torch.int32), "u8": torch.tensor([0, 255], dtype=torch.uint8),
                     "flag": torch.tensor([True, False]), "empty": torch.zeros(0, 3)}
    yield "parameter", {"p": torch.nn.Parameter(torch.randn(2, 2))}


def main():
    root = os.path.join(sys.argv[1], "torch-files")
    os.makedirs(root, exist_ok=True)
    for name, sd in cases():
        torch.save(sd, os.path.join(root, name + ".pt"))
        back = torch.load(os.path.join(root, name + ".pt"))
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "names.txt"), "w") as f:
            for k, (key, t) in enumerate(back.items()):
                np.save(os.path.join(d, f"{k}.npy"), np.ascontiguousarray(t.detach().float().numpy(), dtype=np.float32))
                f.write(f"{k} {key} {str(t.dtype).replace('torch.', '')}\n")
    torch.save({"w": torch.zeros(2), "x": Evil()}, os.path.join(root, "evil.pt"))
    # the same archive deflated: torch.save never compresses, so the reader refuses it
    with zipfile.ZipFile(os.path.join(root, "views.pt")) as src, \
            zipfile.ZipFile(os.path.join(root, "deflated.pt"), "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for n in src.namelist():
            dst.writestr(n, src.read(n))
    with open(os.path.join(root, "cases.txt"), "w") as f:
        f.write("\n".join(name for name, _ in cases()) + "\n")


if __name__ == "__main__":
    main()
