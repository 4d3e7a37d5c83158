#!/usr/bin/python3
"""PyTorch's side of `lstm verify`: a state_dict run by PyTorch itself, layer by layer.

    /usr/bin/python3 scripts/torch_verify.py --state-dict model.pt --config config.json \
        --x x.npy --lengths lengths.npy --out DIR

Loads the file with torch.load(weights_only=True) (PyTorch's own reader, not lstm's), builds the
network the lstm config describes from nn.LSTM / nn.GRU / nn.RNN / nn.Linear / nn.Embedding
(torch_twin.Twin), and fills it from the file: the file's modules in order (an RNN's layer k
counts as one), each tensor by its own name, both RNN biases as they are (no folding). Then it
runs the inputs (right-padded rows as packed sequences) and writes DIR/layer_<i>.npy, each
layer's output, and DIR/framework.txt ("PyTorch <version>").
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_twin import Twin  # noqa: E402

RNN_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def module_key(name):
    """(module key, parameter) by the rule of src/io/torch_model.h."""
    prefix, _, leaf = name.rpartition(".")
    rest, reverse = (leaf[: -len("_reverse")], "_reverse") if leaf.endswith("_reverse") else (leaf, "")
    base, sep, layer = rest.rpartition("_l")
    if sep and base in RNN_PARAMS and layer.isdigit():
        return (prefix, int(layer)), base + reverse
    if leaf in ("weight", "bias"):
        return (prefix, None), leaf
    raise SystemExit(f"torch_verify: '{name}' is not a tensor of nn.LSTM, nn.GRU, nn.RNN, nn.Linear or nn.Embedding")


def modules(state):
    grouped = OrderedDict()
    for name, tensor in state.items():
        key, param = module_key(name)
        grouped.setdefault(key, OrderedDict())[param] = (name, tensor)
    return list(grouped.values())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--state-dict", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--x", required=True)
    p.add_argument("--lengths", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    state = torch.load(a.state_dict, map_location="cpu", weights_only=True)
    with open(a.config) as f:
        config = json.load(f)
    twin = Twin(config, seed=0)
    theirs, ours = modules(state), modules(twin.state_dict())
    if len(theirs) != len(ours):
        raise SystemExit(f"torch_verify: the file has {len(theirs)} weighted modules, the architecture {len(ours)}")
    with torch.no_grad():
        for file_module, twin_module in zip(theirs, ours):
            if set(file_module) != set(twin_module):
                raise SystemExit(f"torch_verify: the file's {[n for n, _ in file_module.values()]} do not fit "
                                 f"the architecture's {[n for n, _ in twin_module.values()]}")
            for param, (twin_name, target) in twin_module.items():
                file_name, value = file_module[param]
                if tuple(value.shape) != tuple(target.shape):
                    raise SystemExit(f"torch_verify: '{file_name}' is {list(value.shape)}, "
                                     f"'{twin_name}' needs {list(target.shape)}")
                target.copy_(value.to(torch.float32))
    twin.eval()
    x = torch.from_numpy(np.load(a.x))
    lengths = torch.from_numpy(np.load(a.lengths).astype(np.int64))
    h = x
    with torch.no_grad():
        for i, layer in enumerate(twin.layers):
            h = layer(h, lengths)
            np.save(os.path.join(a.out, f"layer_{i}.npy"), h.numpy().astype(np.float32))
    with open(os.path.join(a.out, "framework.txt"), "w") as f:
        f.write(f"PyTorch {torch.__version__}\n")


if __name__ == "__main__":
    main()
