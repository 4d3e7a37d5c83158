"""Conv2D's reference for tests/parity/test_conv_parity.cpp: PyTorch's conv2d (autograd for the
gradients, float64) on channels-last data with Keras's kernel layout (KH, KW, C, F), for the
paddings and strides of Keras's Conv2D ("valid"; "same" as TensorFlow pads: the total
max((OH - 1) * stride + K - H, 0), half before, rounded down, the rest after).

    /usr/bin/python3 tests/parity/conv_reference.py OUTDIR     (torch_reference.py calls main)
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

# name, B, H, W, C, KH, KW, filters, stride_h, stride_w, padding
CASES = [
    ("valid-3x3", 2, 7, 6, 3, 3, 3, 4, 1, 1, "valid"),
    ("same-3x3", 2, 7, 6, 3, 3, 3, 4, 1, 1, "same"),
    ("same-4x2-stride2", 1, 9, 8, 2, 4, 2, 3, 2, 2, "same"),
    ("valid-stride-2x3", 3, 10, 11, 1, 3, 2, 5, 2, 3, "valid"),
    ("same-1x1", 2, 4, 5, 6, 1, 1, 2, 1, 1, "same"),
    ("same-5x5-on-3x3", 1, 3, 3, 2, 5, 5, 2, 1, 1, "same"),
    ("same-even-stride3", 2, 8, 7, 2, 2, 4, 3, 3, 2, "same"),
]


def run_case(outdir, name, B, H, W, C, KH, KW, Fn, sh, sw, padding, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, H, W, C, generator=g).float()
    kernel = (torch.randn(KH, KW, C, Fn, generator=g) * 0.5).float()
    bias = torch.randn(Fn, generator=g).float()
    xd = x.double().requires_grad_(True)
    kd = kernel.double().requires_grad_(True)
    bd = bias.double().requires_grad_(True)
    inp = xd.permute(0, 3, 1, 2)  # NCHW
    if padding == "same":
        oh, ow = math.ceil(H / sh), math.ceil(W / sw)
        ph, pw = max((oh - 1) * sh + KH - H, 0), max((ow - 1) * sw + KW - W, 0)
        inp = F.pad(inp, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    y = F.conv2d(inp, kd.permute(3, 2, 0, 1), bd, stride=(sh, sw)).permute(0, 2, 3, 1)  # NHWC
    dy = torch.randn(y.shape, generator=g).double()
    (y * dy).sum().backward()
    d = os.path.join(outdir, "conv", name)
    os.makedirs(d, exist_ok=True)
    for key, value in (("x", x), ("kernel", kernel), ("bias", bias), ("dy", dy), ("y", y), ("dx", xd.grad),
                       ("dkernel", kd.grad), ("dbias", bd.grad)):
        np.save(os.path.join(d, key + ".npy"), value.detach().numpy().astype(np.float32))
    with open(os.path.join(d, "shape.txt"), "w") as f:
        f.write("%d %d %d %d %d %d %d %d %d %d\n" % (B, H, W, C, KH, KW, Fn, sh, sw, padding == "same"))


def main(outdir):
    for seed, case in enumerate(CASES):
        run_case(outdir, *case, seed=500 + seed)
    with open(os.path.join(outdir, "conv", "cases.txt"), "w") as f:
        f.write("\n".join(c[0] for c in CASES) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
