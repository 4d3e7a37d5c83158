"""Keras model files written with h5py in Keras's own layouts (Keras is not in Debian), with
random weights, for the interop tests:

    write_keras3("m.keras", layers, seed)   # zip: config.json, metadata.json, model.weights.h5
    write_keras2("m.h5", layers, seed)      # HDF5: model_config, model_weights/<layer>/...

`layers` is the Sequential's list of {"class_name": ..., "config": {...}} as Keras serialises it,
its first layer (an InputLayer or not) with the input shape. The weight layouts follow Keras's saving code: Keras 3's saving_lib
(layers/<snake_case class>[_k]/[cell/|layer/|forward_layer/cell/|backward_layer/cell/]vars/<i>)
and Keras 2's hdf5_format (layer_names, weight_names such as lstm/lstm_cell/kernel:0)."""
import io
import json
import re
import zipfile

import h5py
import numpy as np

CELLS = {"LSTM": ("lstm_cell", 4), "GRU": ("gru_cell", 3), "SimpleRNN": ("simple_rnn_cell", 1)}


def snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def rnn_arrays(cls, cfg, F, r):
    H = cfg["units"]
    gates = CELLS[cls][1]
    arrays = [("kernel", r.uniform(-0.5, 0.5, (F, gates * H))), ("recurrent_kernel", r.uniform(-0.5, 0.5, (H, gates * H)))]
    if cfg.get("use_bias", True):
        shape = (2, gates * H) if cls == "GRU" and cfg.get("reset_after", True) else (gates * H,)
        arrays.append(("bias", r.uniform(-0.5, 0.5, shape)))
    return arrays, H


def layer_weights(layer, F, r):
    """[(part, [(variable name, array)])] and the output width."""
    cls, c = layer["class_name"], layer["config"]
    if cls in CELLS:
        arrays, H = rnn_arrays(cls, c, F, r)
        return [("cell", arrays)], H
    if cls == "Bidirectional":
        inner = c["layer"]
        f, H = rnn_arrays(inner["class_name"], inner["config"], F, r)
        b, _ = rnn_arrays(inner["class_name"], inner["config"], F, r)
        return [("forward", f), ("backward", b)], 2 * H if c.get("merge_mode", "concat") == "concat" else H
    if cls in ("Dense", "TimeDistributed"):
        d = c["layer"]["config"] if cls == "TimeDistributed" else c
        arrays = [("kernel", r.uniform(-0.5, 0.5, (F, d["units"])))]
        if d.get("use_bias", True):
            arrays.append(("bias", r.uniform(-0.5, 0.5, (d["units"],))))
        return [("", arrays)], d["units"]
    if cls == "Embedding":
        return [("", [("embeddings", r.uniform(-0.5, 0.5, (c["input_dim"], c["output_dim"])))])], c["output_dim"]
    if cls == "LayerNormalization":
        return [("", [("gamma", r.uniform(0.5, 1.5, (F,))), ("beta", r.uniform(-0.5, 0.5, (F,)))])], F
    if cls == "Attention" and c.get("use_scale"):
        return [("", [("scale", np.array(r.uniform(0.5, 1.5)))])], F
    if cls == "AdditiveAttention" and c.get("use_scale", True):
        return [("", [("scale", r.uniform(-0.5, 0.5, (F,)))])], F
    return [("", [])], F


def walk(layers, seed):
    r = np.random.default_rng(seed)
    first = layers[0]["config"]
    F = (first.get("batch_shape") or first.get("batch_input_shape"))[-1]
    out = []
    for layer in layers:
        if layer["class_name"] == "InputLayer":
            continue
        if layer["class_name"] == "Embedding":
            F = None
        parts, F = layer_weights(layer, F, r)
        out.append((layer, parts))
    return out


def write_keras3(path, layers, seed):
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "sequential", "trainable": True, "layers": [
                  dict(module="keras.layers", registered_name=None, **l) for l in layers]}}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.create_group("vars")
        seen = {}
        for layer, parts in walk(layers, seed):
            _keras3_layer(h5, layer, parts, seen)
    with zipfile.ZipFile(path, "w") as z:  # stored, as Keras writes it
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2026-12-06@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())


def write_keras2(path, layers, seed):
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
        h5.attrs["keras_version"] = b"2.11.0"
        h5.attrs["backend"] = b"tensorflow"
        _keras2_weights(h5, walk(layers, seed))

def _out_widths(layer, widths_in):
    """The widths of a layer's outputs (its output, then its states) from its inputs' widths."""
    cls, c = layer["class_name"], layer["config"]
    if cls in CELLS or cls == "Bidirectional":
        inner = c["layer"] if cls == "Bidirectional" else layer
        H = inner["config"]["units"]
        states = 2 if inner["class_name"] == "LSTM" else 1
        if cls == "Bidirectional":
            y = 2 * H if c.get("merge_mode", "concat") == "concat" else H
            return [y] + [H] * (2 * states if inner["config"].get("return_state") else 0)
        return [H] + [H] * (states if c.get("return_state") else 0)
    if cls == "Concatenate":
        return [sum(widths_in)]
    if cls in ("Attention", "AdditiveAttention"):
        return [widths_in[1]]
    if cls == "Dense":
        return [c["units"]]
    if cls == "Embedding":
        return [c["output_dim"]]
    return [widths_in[0]]


def _ref(t):
    """(layer, k) -> (layer, 0, k); (layer, node, k) as it is."""
    return (t[0], 0, t[1]) if len(t) == 2 else tuple(t)


def functional_parts(spec, seed):
    """spec: {"inputs": [(name, batch_shape)], "layers": [...], "outputs": [refs]}, where a layer is
    (layer, [refs], [initial refs]) and a further call of a layer already listed (shared weights)
    is ("call", name, [refs], [initial refs]); refs are (layer name, output index) or (layer name,
    call number, output index). -> walked [(layer, parts)], one per layer"""
    r = np.random.default_rng(seed)
    widths = {(name, 0): [shape[-1]] for name, shape in spec["inputs"]}
    layers, calls, walked = {}, {}, []
    for entry in spec["layers"]:
        if entry[0] == "call":
            _, name, refs, _ = entry
            layer = layers[name]
        else:
            layer, refs, _ = entry
            name = layer["config"]["name"]
            layers[name] = layer
        w_in = [widths[(n, c)][k] for n, c, k in map(_ref, refs)]
        node = calls.get(name, 0)
        calls[name] = node + 1
        if node == 0:
            parts, _ = layer_weights(layer, w_in[0], r)
            walked.append((layer, parts))
        widths[(name, node)] = _out_widths(layer, w_in)
    return walked


def _tensor3(name, node, k):
    return {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": [name, node, k]}}


def write_functional(path, spec, seed, keras3):
    walked = functional_parts(spec, seed)
    layers, entries = [], {}
    for name, shape in spec["inputs"]:
        layers.append({"class_name": "InputLayer", "name": name, "inbound_nodes": [],
                       "config": {"name": name, ("batch_shape" if keras3 else "batch_input_shape"): shape}})
    for item in spec["layers"]:
        if item[0] == "call":
            _, name, refs, initial = item
            entry = entries[name]
        else:
            layer, refs, initial = item
            entry = entries[layer["config"]["name"]] = dict(layer, name=layer["config"]["name"], inbound_nodes=[])
            layers.append(entry)
        refs, initial = [_ref(t) for t in refs], [_ref(t) for t in initial]
        if keras3:
            args = [_tensor3(*t) for t in refs]
            kwargs = {"initial_state": [_tensor3(*t) for t in initial]} if initial else {}
            entry["inbound_nodes"].append({"args": [args] if len(args) > 1 else args, "kwargs": kwargs})
        else:
            entry["inbound_nodes"].append([[n, c, k, {}] for n, c, k in refs + initial])
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers,
        "input_layers": [[n, 0, 0] for n, _ in spec["inputs"]],
        "output_layers": [list(_ref(t)) for t in spec["outputs"]]}}
    if keras3:
        buf = io.BytesIO()
        with h5py.File(buf, "w") as h5:
            seen = {}  # per-class counters, InputLayer's apart
            for layer, parts in walked:
                _keras3_layer(h5, layer, parts, seen)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", buf.getvalue())
    else:
        with h5py.File(path, "w") as h5:
            h5.attrs["model_config"] = json.dumps(config).encode()
            _keras2_weights(h5, walked)


def _keras3_layer(h5, layer, parts, seen):
    cls = layer["class_name"]
    k = seen.get(cls, 0)
    seen[cls] = k + 1
    p = "layers/" + snake_case(cls) + (f"_{k}" if k else "")
    for part, arrays in parts:
        group = {"cell": p + "/cell/vars", "forward": p + "/forward_layer/cell/vars",
                 "backward": p + "/backward_layer/cell/vars"}.get(part) or (
            p + "/layer/vars" if cls == "TimeDistributed" else p + "/vars")
        g = h5.create_group(group)
        for i, (_, a) in enumerate(arrays):
            g.create_dataset(str(i), data=np.asarray(a, dtype=np.float32))


def _keras2_weights(h5, walked):
    mw = h5.create_group("model_weights")
    mw.attrs["layer_names"] = np.array([l["config"]["name"].encode() for l, _ in walked])
    for layer, parts in walked:
        name = layer["config"]["name"]
        g = mw.create_group(name)
        names = []
        for part, arrays in parts:
            if part == "cell":
                scope = f"{name}/{CELLS[layer['class_name']][0]}/"
            elif part in ("forward", "backward"):
                inner = layer["config"]["layer"]
                scope = f"{name}/{part}_{inner['config']['name']}/{CELLS[inner['class_name']][0]}/"
            else:
                scope = f"{name}/"
            for var, a in arrays:
                g.create_dataset(scope + var + ":0", data=np.asarray(a, dtype=np.float32))
                names.append((scope + var + ":0").encode())
        g.attrs["weight_names"] = np.array(names, dtype="S") if names else np.array([], dtype="S1")
