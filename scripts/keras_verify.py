#!/usr/bin/python3
"""Keras's side of `lstm verify`: a Keras .keras or .h5 file run by Keras's equations in NumPy.

    /usr/bin/python3 scripts/keras_verify.py --model model.keras --x x.npy --lengths lengths.npy --out DIR

Keras itself is not in Debian, so this is the reference: the file read with h5py and zipfile
(not lstm's readers), its Sequential config run layer by layer with the equations of Keras's
layers (kernels x @ W, LSTM gates i, f, c, o, GRU gates z, r, h with reset_after true or false,
Bidirectional's backward layer reading the sequence reversed, masks from Embedding(mask_zero)
or Masking carried through, a masked step leaving the state alone). Writes DIR/layer_<i>.npy for
each layer after the InputLayer, and DIR/framework.txt. Steps past a row's length (given by
--lengths; a model without a mask sees every step) are written as zeros.
"""
import argparse
import io
import json
import os
import re
import zipfile

import h5py
import numpy as np


def snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACT = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
       "hard_sigmoid": lambda z: np.clip(z / 6.0 + 0.5, 0.0, 1.0),
       "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)}


def activation(cfg, key, default):
    a = cfg.get(key, default)
    return ACT[a["config"] if isinstance(a, dict) else a]


class Weights:
    """Each layer's arrays, by the layout of the file's Keras version."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"PK":
            z = zipfile.ZipFile(io.BytesIO(data))
            self.config = json.loads(z.read("config.json"))
            self.h5 = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
            self.keras3 = True
        else:
            self.h5 = h5py.File(path, "r")
            config = self.h5.attrs["model_config"]
            self.config = json.loads(config.decode() if isinstance(config, bytes) else config)
            self.keras3 = False
        self.seen = {}

    def arrays(self, layer):
        cls, name = layer["class_name"], layer["config"].get("name")
        if self.keras3:
            k = self.seen.get(cls, 0)
            self.seen[cls] = k + 1
            p = "layers/" + snake_case(cls) + (f"_{k}" if k else "")
            def read(group):
                if group not in self.h5:
                    return []
                g = self.h5[group]
                return [np.asarray(g[str(i)], dtype=np.float64) for i in range(len(g))]
            if cls == "Bidirectional":
                return read(p + "/forward_layer/cell/vars") + read(p + "/backward_layer/cell/vars")
            if cls in ("LSTM", "GRU", "SimpleRNN"):
                return read(p + "/cell/vars")
            if cls == "TimeDistributed":
                return read(p + "/layer/vars")
            return read(p + "/vars")
        root = self.h5["model_weights"] if "model_weights" in self.h5 else self.h5
        if name not in root:
            return []
        g = root[name]
        return [np.asarray(g[n.decode() if isinstance(n, bytes) else n], dtype=np.float64) for n in g.attrs["weight_names"]]


def recurrent(cls, cfg, w, x, mask, go_backwards, initial=None):
    """One direction over x [N, T, F] with mask [N, T], from `initial` ([h] or [h, c]) or zeros:
    (outputs [N, T, H], last output [N, H], final states [h] or [h, c])."""
    N, T = x.shape[:2]
    kernel, rec = w[0], w[1]
    bias = w[2] if len(w) > 2 else None
    H = rec.shape[0]
    act = activation(cfg, "activation", "tanh")
    ract = activation(cfg, "recurrent_activation", "sigmoid")
    h, c = np.zeros((N, H)), np.zeros((N, H))
    if initial:
        h = initial[0].astype(np.float64)
        if cls == "LSTM":
            c = initial[1].astype(np.float64)
    outs = np.zeros((N, T, H))
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    for s, t in enumerate(order):
        xt, m = x[:, t], mask[:, t][:, None]
        if cls == "LSTM":
            z = xt @ kernel + h @ rec + (bias if bias is not None else 0)
            i, f, g, o = ract(z[:, :H]), ract(z[:, H:2 * H]), act(z[:, 2 * H:3 * H]), ract(z[:, 3 * H:])
            c_new = f * c + i * g
            h_new = o * act(c_new)
            c = np.where(m, c_new, c)
        elif cls == "GRU":
            if cfg.get("reset_after", True):
                mx, mh = xt @ kernel + bias[0], h @ rec + bias[1]
                zg, r = ract(mx[:, :H] + mh[:, :H]), ract(mx[:, H:2 * H] + mh[:, H:2 * H])
                hh = act(mx[:, 2 * H:] + r * mh[:, 2 * H:])
            else:
                mx = xt @ kernel + bias
                zg = ract(mx[:, :H] + h @ rec[:, :H])
                r = ract(mx[:, H:2 * H] + h @ rec[:, H:2 * H])
                hh = act(mx[:, 2 * H:] + (r * h) @ rec[:, 2 * H:])
            h_new = zg * h + (1 - zg) * hh
        else:
            h_new = act(xt @ kernel + h @ rec + bias)
        h = np.where(m, h_new, h)
        outs[:, s] = np.where(m, h, 0)
    return outs, h, ([h, c] if cls == "LSTM" else [h])


def run_rnn(cls, cfg, w, x, mask):
    seq = cfg.get("return_sequences", False)
    outs, last, _ = recurrent(cls, cfg, w, x, mask, cfg.get("go_backwards", False))
    return outs if seq else last


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def apply_layer(cls, c, w, xs, initial):
    """A functional model's layer on its inputs (no masks): its outputs, states after the output."""
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        outs, last, states = recurrent(cls, c, w, xs[0], np.ones(xs[0].shape[:2], bool), c.get("go_backwards", False),
                                       initial or None)
        y = outs if c.get("return_sequences", False) else last
        return [y] + (states if c.get("return_state") else [])
    if cls == "Bidirectional":
        inner = c["layer"]
        icls, icfg = inner["class_name"], inner["config"]
        half, n = len(w) // 2, (2 if icls == "LSTM" else 1)
        mask = np.ones(xs[0].shape[:2], bool)
        fwd, fl, fs = recurrent(icls, icfg, w[:half], xs[0], mask, False, initial[:n] or None)
        bwd, bl, bs = recurrent(icls, icfg, w[half:], xs[0], mask, True, initial[n:] or None)
        seq = icfg.get("return_sequences", False)
        f, b = (fwd, bwd[:, ::-1]) if seq else (fl, bl)
        mode = c.get("merge_mode", "concat")
        y = {"concat": lambda: np.concatenate([f, b], -1), "sum": lambda: f + b, "mul": lambda: f * b,
             "ave": lambda: (f + b) / 2}[mode]()
        return [y] + (fs + bs if icfg.get("return_state") else [])
    if cls in ("Dense", "TimeDistributed"):
        d = c["layer"]["config"] if cls == "TimeDistributed" else c
        return [activation(d, "activation", "linear")(xs[0] @ w[0] + (w[1] if len(w) > 1 else 0))]
    if cls == "Embedding":
        return [w[0][xs[0].astype(np.int64)]]
    if cls in ("Dropout", "Masking"):
        return [xs[0]]
    if cls == "Concatenate":
        return [np.concatenate(xs, -1)]
    if cls == "Add":
        return [sum(xs)]
    if cls == "Multiply":
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return [out]
    if cls == "Average":
        return [sum(xs) / len(xs)]
    if cls == "RepeatVector":
        return [np.repeat(xs[0][:, None, :], c["n"], axis=1)]
    if cls == "LayerNormalization":
        x = xs[0]
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return [(x - mean) / np.sqrt(var + c.get("epsilon", 1e-3)) * w[0] + w[1]]
    if cls in ("Attention", "AdditiveAttention"):
        q, v = xs[0], xs[1]
        k = xs[2] if len(xs) > 2 else v
        if cls == "Attention":
            scores = q @ k.transpose(0, 2, 1) * (float(w[0]) if w else 1.0)
        else:
            scale = w[0] if w else np.ones(q.shape[-1])
            scores = (np.tanh(q[:, :, None, :] + k[:, None, :, :]) * scale).sum(-1)
        return [softmax(scores) @ v]
    raise SystemExit(f"keras_verify: no NumPy twin for the Keras layer {cls}")


def run_functional(store, folder, out):
    """Every call of every layer (a shared layer: one per inbound node, the same weights), each
    once its inputs exist; writes output_<k>.npy for the model's outputs."""
    cfg = store.config["config"]
    tensors = {}  # (layer name, call number) -> its outputs

    def key(t):
        if isinstance(t, dict):
            t = t["config"]["keras_history"]
        return (t[0], t[1]), t[2]

    def refs_of(layer, node):
        cls = layer["class_name"]
        if isinstance(node, dict):  # Keras 3
            args = node["args"][0] if isinstance(node["args"][0], list) else node["args"]
            return [key(t) for t in args], [key(t) for t in node.get("kwargs", {}).get("initial_state", [])]
        xs = [key(t) for t in node]
        if cls in ("LSTM", "GRU", "SimpleRNN", "Bidirectional") and len(xs) > 1:
            return xs[:1], xs[1:]
        return xs, []

    pending = []
    for layer in cfg["layers"]:
        cls, c, name = layer["class_name"], layer["config"], layer.get("name", layer["config"].get("name"))
        w = store.arrays(layer)
        if cls == "InputLayer":
            tensors[(name, 0)] = [np.load(os.path.join(folder, f"x_{name}.npy")).astype(np.float64)]
            continue
        for n, node in enumerate(layer["inbound_nodes"]):
            pending.append((name, n, cls, c, w) + refs_of(layer, node))
    while pending:
        later = []
        for call in pending:
            name, n, cls, c, w, xs, initial = call
            if not all(k in tensors for k, _ in xs + initial):
                later.append(call)
                continue
            tensors[(name, n)] = apply_layer(cls, c, w, [tensors[k][i] for k, i in xs],
                                             [tensors[k][i] for k, i in initial])
        if len(later) == len(pending):
            raise SystemExit("keras_verify: layer calls whose inputs are never computed")
        pending = later
    outputs = cfg["output_layers"]
    if outputs and isinstance(outputs[0], str):
        outputs = [outputs]
    for k, t in enumerate(outputs):
        (name_node, i) = key(t)
        np.save(os.path.join(out, f"output_{k}.npy"), tensors[name_node][i].astype(np.float32))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--x")
    p.add_argument("--lengths")
    p.add_argument("--graph-inputs", help="a functional model: the folder of x_<input name>.npy")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    store = Weights(a.model)
    if a.graph_inputs:
        run_functional(store, a.graph_inputs, a.out)
        with open(os.path.join(a.out, "framework.txt"), "w") as f:
            f.write(f"Keras {'3 .keras' if store.keras3 else '2 .h5'} layout, NumPy equations (h5py {h5py.__version__})\n")
        return
    cfg = store.config["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]
    x = np.load(a.x).astype(np.float64)
    lengths = np.load(a.lengths).astype(np.int64)
    N, T = x.shape[0], x.shape[1]
    given = np.arange(T)[None, :] < lengths[:, None]
    mask = np.ones((N, T), dtype=bool)  # no mask until a layer makes one
    k = 0
    for layer in layers:
        cls, c = layer["class_name"], layer["config"]
        if cls == "InputLayer":
            continue
        w = store.arrays(layer)
        if cls == "Embedding":
            x = w[0][x.astype(np.int64)]
            if c.get("mask_zero", False):
                mask = given
        elif cls == "Masking":
            mask = given
            x = x * mask[:, :, None]
        elif cls in ("LSTM", "GRU", "SimpleRNN"):
            x = run_rnn(cls, c, w, x, mask)
        elif cls == "Bidirectional":
            inner = c["layer"]
            half = len(w) // 2
            icls, icfg = inner["class_name"], inner["config"]
            seq = icfg.get("return_sequences", False)
            fwd, fl, _ = recurrent(icls, icfg, w[:half], x, mask, icfg.get("go_backwards", False))
            bwd, bl, _ = recurrent(icls, icfg, w[half:], x, mask, not icfg.get("go_backwards", False))
            f, b = (fwd, bwd[:, ::-1]) if seq else (fl, bl)
            mode = c.get("merge_mode", "concat")
            x = {"concat": lambda: np.concatenate([f, b], -1), "sum": lambda: f + b, "mul": lambda: f * b,
                 "ave": lambda: (f + b) / 2, None: lambda: np.stack([f, b])}[mode]()
        elif cls in ("Dense", "TimeDistributed"):
            d = c["layer"]["config"] if cls == "TimeDistributed" else c
            x = activation(d, "activation", "linear")(x @ w[0] + (w[1] if len(w) > 1 else 0))
        elif cls == "Dropout":
            pass
        else:
            raise SystemExit(f"keras_verify: no NumPy twin for the Keras layer {cls}")
        out = x
        if out.ndim >= 3 and out.shape[0] == N and out.shape[1] == T:
            out = out * given.reshape(N, T, *([1] * (out.ndim - 2)))
        np.save(os.path.join(a.out, f"layer_{k}.npy"), out.astype(np.float32))
        k += 1
    with open(os.path.join(a.out, "framework.txt"), "w") as f:
        f.write(f"Keras {'3 .keras' if store.keras3 else '2 .h5'} layout, NumPy equations (h5py {h5py.__version__})\n")


if __name__ == "__main__":
    main()
