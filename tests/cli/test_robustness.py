"""The bad-input matrix of docs/robustness.md: every file and flag a user or an attacker can
hand the CLI, each case with its expected exit code and message, checked as a user would run
it, in the release and the sanitizer builds (ctest runs this file with each binary).

Every failing case must also: write nothing (no output file, no temporary left behind), stay
under 300 MB of peak memory and 2 s. The files of ../shared/reliability/cases (the review's
inputs that crashed the CLI of 2026-12-01) run too when that folder is there, and
equivalents of them are generated here so the test stands alone.

  /usr/bin/python3 test_robustness.py --markdown   prints the matrix table of the docs
"""
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

from cli_util import HERE, LSTM, safetensors_parts
SHARED_CASES = os.environ.get("LSTM_RELIABILITY_CASES",
                              os.path.join(HERE, "../../../shared/reliability/cases"))
MAX_RSS_MB, MAX_SECONDS = 300, 2.0

CONFIG = {"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 3}, {"type": "dense", "units": 1}]}


# ---- building files ---------------------------------------------------------------------

def safetensors_bytes(tensors, metadata=None, header=None, tail=b""):
    """tensors: [(name, dtype, shape, raw bytes)]; header: replaces the JSON header text."""
    h, data = {}, b""
    if metadata is not None:
        h["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        h[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = (header if header is not None else json.dumps(h)).encode()
    return struct.pack("<Q", len(text)) + text + data + tail


def read_safetensors(path):
    """The tensors as (name, dtype, shape, bytes) in file order, and the metadata."""
    header, meta, body = safetensors_parts(path)
    tensors = [(k, v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
               for k, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])]
    return tensors, meta


def nested_layer(kind, depth):
    text = json.dumps({"type": "lstm", "units": 2})
    for _ in range(depth):
        text = '{"type": "%s", "layer": %s}' % (kind, text)
    return text


def nested(kind, depth):
    return '{"input_shape": [5, 2], "layers": [%s]}' % nested_layer(kind, depth)


def npy_bytes(header_dict_text, data):
    h = header_dict_text
    h = h + " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data


class Files:
    """The good files every case starts from, made once per test run in a temporary folder."""

    def __init__(self, d):
        self.d = d
        r = np.random.default_rng(0)
        np.save(self.p("X.npy"), r.standard_normal((16, 5, 2)).astype(np.float32))
        np.save(self.p("y.npy"), r.standard_normal((16, 1)).astype(np.float32))
        self.write("m.json", json.dumps(CONFIG))
        run("train", "--config", self.p("m.json"), "--x", self.p("X.npy"), "--y", self.p("y.npy"),
            "--out", self.p("model.safetensors"), "--epochs", "1", "--quiet",
            "--checkpoint", self.p("ckpt.safetensors"), check=True)
        rows = ["date,a,b"] + [f"2020-01-{d:02d},{np.sin(d / 3):.4f},{np.cos(d / 3):.4f}" for d in range(1, 32)]
        self.write("series.csv", "\n".join(rows) + "\n")
        run("train", "--csv", self.p("series.csv"), "--target", "a", "--features", "a,b", "--lookback", "4",
            "--date-column", "date", "--epochs", "1", "--units", "3", "--quiet",
            "--out", self.p("forecaster.safetensors"), check=True)
        self.model = read_safetensors(self.p("model.safetensors"))
        self.ckpt = read_safetensors(self.p("ckpt.safetensors"))
        self.forecaster = read_safetensors(self.p("forecaster.safetensors"))

    def p(self, name):
        return os.path.join(self.d, name)

    def write(self, name, content):
        path = self.p(name)
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return path


def run(*args, check=False):
    p = subprocess.run([LSTM, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"lstm {' '.join(args)}: {p.stderr}")
    return p


def run_measured(args, cwd):
    """(exit code, stderr, peak RSS in MB, seconds) of one lstm run."""
    start = time.monotonic()
    proc = subprocess.Popen([LSTM, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err, usage.ru_maxrss / 1024.0, time.monotonic() - start


# ---- the matrix -------------------------------------------------------------------------
# Each case: (id, what is handed in, expected behaviour, exit code, message fragment, make).
# make(f) writes the case's input with Files f and returns the lstm arguments; "OUT" in them is
# the output path that must not appear.

def model_case(mutate):
    """summary --model of the trained model's tensors and metadata after mutate(tensors, meta)."""
    def make(f):
        tensors, meta = [list(t) for t in f.model[0]], dict(f.model[1])
        blob = mutate(tensors, meta)
        if not isinstance(blob, bytes):
            blob = safetensors_bytes([tuple(t) for t in tensors], meta)
        return ["summary", "--model", f.write("case.safetensors", blob)]
    return make


def with_config(config_text):
    def mutate(tensors, meta):
        meta["lstm.config"] = config_text
    return mutate


def set_tensor(name, **fields):
    def mutate(tensors, meta):
        for t in tensors:
            if t[0] == name:
                for k, v in fields.items():
                    t[{"dtype": 1, "shape": 2, "raw": 3}[k]] = v
    return mutate


def poison(value):
    def mutate(tensors, meta):
        raw = bytearray(tensors[0][3])
        raw[4:8] = struct.pack("<f", value)
        tensors[0][3] = bytes(raw)
    return mutate


def forecast_case(edit, command="forecast"):
    def make(f):
        tensors, meta = f.forecaster
        meta = dict(meta)
        setup = json.loads(meta["lstm.forecast"])
        edit(setup)
        meta["lstm.forecast"] = json.dumps(setup)
        path = f.write("case.safetensors", safetensors_bytes(tensors, meta))
        return [command, "--model", path, "--csv", f.p("series.csv")] + (["--out", "OUT"] if command == "forecast" else [])
    return make


def checkpoint_case(mutate):
    """train --resume from the checkpoint after mutate(tensors, meta, state)."""
    def make(f):
        tensors, meta = [list(t) for t in f.ckpt[0]], dict(f.ckpt[1])
        state = json.loads(meta["lstm.train_state"])
        if mutate(tensors, meta, state) != "no state":
            meta["lstm.train_state"] = json.dumps(state)
        shutil.copy(f.p("m.json"), f.p("case.json"))
        f.write("case.safetensors", safetensors_bytes([tuple(t) for t in tensors], meta))
        return ["train", "--config", f.p("m.json"), "--x", f.p("X.npy"), "--y", f.p("y.npy"), "--out", "OUT",
                "--epochs", "3", "--checkpoint", f.p("case.safetensors"), "--resume", "--quiet"]
    return make


def npy_case(blob, flag="x"):
    def make(f):
        path = f.write("case.npy", blob(f) if callable(blob) else blob)
        args = ["predict", "--model", f.p("model.safetensors"), "--x", f.p("X.npy"), "--out", "OUT"]
        if flag == "x":
            args[4] = path
        else:
            args += ["--lengths", path]
        return args
    return make


def npy_of(array):
    import io
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


def config_case(text):
    def make(f):
        return ["train", "--config", f.write("case.json", text), "--x", f.p("X.npy"), "--y", f.p("y.npy"),
                "--out", "OUT", "--epochs", "1", "--quiet"]
    return make


def graph_config(layers, output="d", features=2):
    """A graph config of one input x [T, features], the given layer entries, one output."""
    return ('{"inputs": [{"name": "x", "shape": [null, %d]}], "layers": [%s], "outputs": ["%s"]}'
            % (features, layers, output))


def csv_case(text, *extra, target="a", lookback="3"):
    def make(f):
        path = f.write("case.csv", text if isinstance(text, bytes) else text.encode())
        return ["train", "--csv", path, "--target", target, "--lookback", lookback, "--epochs", "1", "--quiet",
                "--out", "OUT", *extra]
    return make


def train_args(*extra, out="OUT", epochs="1"):
    def make(f):
        return ["train", "--config", f.p("m.json"), "--x", f.p("X.npy"), "--y", f.p("y.npy"), "--out", out,
                "--epochs", epochs, "--quiet", *extra]
    return make


def args_case(fn):
    return fn


GOOD_CSV = "date,a\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 21))
# two series in long format, 20 days each
LONG_CSV = "id,date,a\n" + "".join(f"{i},2020-01-{d:02d},{d}\n" for i in "xy" for d in range(1, 21))


def series_entry(setup, id):
    """One entry of a many-series setup's "series", with the setup's own scaling."""
    keys = ["feature_center", "feature_scale", "target_center", "target_scale", "boxcox_lambda", "interval_adjust"]
    return dict({"id": id}, **{k: setup[k] for k in keys if k in setup})


CASES = [
    # --- model files (lstm summary, predict, evaluate, forecast, train --init read them) ---
    ("model-empty", "an empty model file", "not a model file", 1, "is only 0 bytes long",
     lambda f: ["summary", "--model", f.write("case.safetensors", b"")]),
    ("model-folder", "a folder as --model", "says it is a folder", 1, "is a folder, not a model file",
     lambda f: ["summary", "--model", f.d]),
    ("model-missing", "a path that does not exist", "cannot open", 1, "cannot open model file",
     lambda f: ["summary", "--model", f.p("nope.safetensors")]),
    ("model-header-past-end", "a header length past the end", "refused before reading", 1, "runs past the end",
     lambda f: ["summary", "--model", f.write("case.safetensors", struct.pack("<Q", 1 << 40) + b"{}")]),
    ("model-header-not-json", "a header that is not JSON", "refused", 1, "is not valid JSON",
     lambda f: ["summary", "--model", f.write("case.safetensors", safetensors_bytes([], header="{nope"))]),
    ("model-header-array", "a header that is a JSON array", "refused", 1, "not a JSON object",
     lambda f: ["summary", "--model", f.write("case.safetensors", safetensors_bytes([], header="[1, 2]"))]),
    ("model-header-deep", "a header nested 100,000 deep", "refused while parsing", 1, "nests deeper than 64",
     lambda f: ["summary", "--model", f.write("case.safetensors", safetensors_bytes([], header="[" * 100000 + "]" * 100000))]),
    ("model-config-deep-array", "a layer holding a 100,000-deep array", "refused while parsing", 1, "nests deeper than 64",
     model_case(with_config('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": ' + "[" * 100000 + "]" * 100000 + "}]}"))),
    ("model-config-deep-bidirectional", "20,000 nested bidirectional layers", "refused while parsing", 1,
     "nests deeper than 64", model_case(with_config(nested("bidirectional", 20000)))),
    ("model-config-deep-timedistributed", "20,000 nested time_distributed layers", "refused while parsing", 1,
     "nests deeper than 64", model_case(with_config(nested("time_distributed", 20000)))),
    ("model-no-config", "no lstm.config metadata", "refused", 1, 'has no "lstm.config"',
     model_case(lambda t, m: m.pop("lstm.config"))),
    ("model-config-not-json", "lstm.config that is not JSON", "refused", 1, "model config is not valid JSON",
     model_case(with_config("{layers"))),
    ("model-dtype", "a tensor of dtype I8", "refused, names the conversion", 1, "has dtype I8",
     model_case(set_tensor("layers.1.bias", dtype="I8"))),
    ("model-offsets-outside", "data_offsets past the data", "refused", 1, "lies outside the file's data",
     model_case(lambda t, m: safetensors_bytes(t, m)[:-8])),
    ("model-trailing-bytes", "bytes after the last tensor", "refused", 1, "bytes follow the last tensor",
     model_case(lambda t, m: safetensors_bytes(t, m, tail=b"\0" * 8))),
    ("model-shape-bytes", "a shape that disagrees with its byte count", "refused", 1, "but its offsets span",
     model_case(set_tensor("layers.1.bias", shape=[2]))),
    ("model-shape-huge", "a tensor shape of 2^62 x 4", "refused before any allocation", 1,
     "more values than the file's",
     model_case(set_tensor("layers.1.bias", shape=[1 << 62, 4]))),
    ("model-missing-tensor", "a tensor the config needs is absent", "names the tensor", 1, "lacks tensor 'layers.1.bias'",
     model_case(lambda t, m: t.__setitem__(slice(None), [x for x in t if x[0] != "layers.1.bias"]))),
    ("model-extra-tensor", "a tensor the config has no place for", "refused", 1, "which its config has no place for",
     model_case(lambda t, m: t.append(["layers.7.weight", "F32", [1], b"\0" * 4]))),
    ("model-input-width-2^40", "input_shape [10, 2^40] (asked for 128 TB)", "refused before any allocation", 1,
     "features in 1..16777216",
     model_case(with_config('{"input_shape": [10, 1099511627776], "layers": [{"type": "lstm", "units": 3}, {"type": "dense", "units": 1}]}'))),
    ("model-units-65535", "units 65,535 with small tensors (asked for 69 GB)", "refused before any allocation", 1,
     "has shape [12, 2] but the config says [262140, 2]",
     model_case(with_config('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 65535}, {"type": "dense", "units": 1}]}'))),
    ("model-units-2^30", "units 2^30", "refused: the limit named", 1, "in 1..16777216",
     model_case(with_config('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 1073741824}]}'))),
    ("model-negative-timesteps", "input_shape [-5, 2]", "refused (0 or null mean any length)", 1, "timesteps in 0..",
     model_case(with_config('{"input_shape": [-5, 2], "layers": [{"type": "lstm", "units": 3}, {"type": "dense", "units": 1}]}'))),
    ("model-too-many-layers", "5,000 dropout layers", "refused: the limit named", 1, "more than the limit of 4096",
     model_case(with_config(json.dumps({"input_shape": [5, 2], "layers": [{"type": "dropout", "rate": 0.1}] * 5000})))),
    ("model-unknown-type", "an unknown layer type", "names the types", 1, 'unknown layer type "conv"',
     model_case(with_config('{"input_shape": [5, 2], "layers": [{"type": "conv", "units": 3}]}'))),
    ("model-nan-weight", "a NaN weight", "refused at load", 1, "holds NaN at flat index 1", model_case(poison(float("nan")))),
    ("model-inf-weight", "an Inf weight", "refused at load", 1, "holds Inf at flat index 1", model_case(poison(float("inf")))),
    ("model-metadata-not-string", "a metadata value that is a number", "refused", 1, "is not a string",
     model_case(lambda t, m: safetensors_bytes([], header=json.dumps({"__metadata__": {"lstm.config": 5}})))),
    ("model-long-tensor-name", "a 300-byte tensor name", "refused", 1, "over 256 bytes long",
     model_case(lambda t, m: t.append(["x" * 300, "F32", [1], b"\0" * 4]))),
    ("model-f64-overflow", "an F64 weight of 1e300", "read as Inf, refused", 1, "holds Inf",
     model_case(set_tensor("layers.1.bias", dtype="F64", raw=struct.pack("<d", 1e300)))),
    # --- the forecasting setup in a model file ---
    ("forecast-horizon", "a horizon of 4 for a model that outputs 1", "refused before any read", 1,
     "does not fit the model", forecast_case(lambda s: s.update(horizon=4))),
    ("evaluate-horizon", "the same through evaluate", "refused", 1, "does not fit the model",
     forecast_case(lambda s: s.update(horizon=4), "evaluate")),
    ("forecast-lookback-huge", "a lookback of 2^40", "refused", 1, '"lookback" is 1099511627776',
     forecast_case(lambda s: s.update(lookback=1 << 40))),
    ("forecast-lookback-float", "a lookback of 4.5", "refused", 1, '"lookback" is 4.5, not an integer',
     forecast_case(lambda s: s.update(lookback=4.5))),
    ("forecast-scale-zero", "a feature scale of 0", "refused", 1, "not a finite positive number",
     forecast_case(lambda s: s.update(feature_scale=[0, 1]))),
    ("forecast-scaling-columns", "3 scaling columns for 2 features", "refused", 1, "3 columns for 2 features",
     forecast_case(lambda s: s.update(feature_center=[0, 0, 0]))),
    ("forecast-series-missing", "a series column without its series", "refused", 1, "key 'series' not found",
     forecast_case(lambda s: s.update(series_column="id"))),
    ("forecast-series-twice", "a series listed twice", "refused, names it", 1, "series 'x' is listed twice",
     forecast_case(lambda s: s.update(series_column="id", series=[series_entry(s, "x"), series_entry(s, "x")]))),
    ("forecast-series-scale-zero", "a series' target scale of 0", "refused", 1, "not a finite positive number",
     forecast_case(lambda s: s.update(series_column="id", series=[dict(series_entry(s, "x"), target_scale=0)]))),
    ("forecast-series-not-object", "a series entry that is a number", "refused", 1, "holds 7, not an object",
     forecast_case(lambda s: s.update(series_column="id", series=[7]))),
    ("forecast-series-embedding-width", "one-hot inputs for 3 series in a model that reads 1 input",
     "refused before any read", 1, "does not fit the model",
     forecast_case(lambda s: s.update(series_column="id", series_embedding=True,
                                      series=[series_entry(s, i) for i in "xyz"]))),
    ("forecast-interval-step-negative", "an interval tracking step of -1", "refused", 1,
     "not a step of 0 or more",
     forecast_case(lambda s: s.update(quantiles=[0.1, 0.5, 0.9], interval_adjust=[1], interval_step=[-1]))),
    ("forecast-setup-deep", "a forecasting setup nested 100,000 deep", "refused while parsing", 1, "nests deeper",
     lambda f: ["forecast", "--model", f.write("case.safetensors", safetensors_bytes(
         f.forecaster[0], dict(f.forecaster[1], **{"lstm.forecast": "[" * 100000 + "]" * 100000}))),
                "--csv", f.p("series.csv")]),
    # --- training checkpoints (train --checkpoint F --resume) ---
    ("checkpoint-state-index", "a tensor named states.99999999999999.h", "refused before any allocation", 1,
     "is the state of recurrent direction 99999999999999",
     checkpoint_case(lambda t, m, s: t.append(["states.99999999999999.h", "F32", [1], b"\0" * 4]))),
    ("checkpoint-state-name", "a tensor named states.x.h", "refused, no raw stoul", 1, "is not a training-state tensor",
     checkpoint_case(lambda t, m, s: t.append(["states.x.h", "F32", [1], b"\0" * 4]))),
    ("checkpoint-short-moments", "optimizer.m shorter than the model", "refused", 1, "values, but this model has",
     checkpoint_case(lambda t, m, s: [x for x in t if x[0] == "optimizer.m"][0].__setitem__(slice(2, 4), [[3], b"\0" * 12]))),
    ("checkpoint-missing-moments", "optimizer state missing after steps", "refused", 1, "is missing or short",
     checkpoint_case(lambda t, m, s: t.__setitem__(slice(None), [x for x in t if not x[0].startswith("optimizer.")]))),
    ("checkpoint-negative-epochs", "epochs_done -3", "refused", 1, "epochs_done is -3",
     checkpoint_case(lambda t, m, s: s.update(epochs_done=-3))),
    ("checkpoint-rng", "an rng_state that is not a number", "refused", 1, "rng_state 'abc'",
     checkpoint_case(lambda t, m, s: s.update(rng_state="abc"))),
    ("checkpoint-history", "a history longer than the epochs done", "refused", 1, "values for 1 epochs",
     checkpoint_case(lambda t, m, s: s.update(history={"loss": [1.0, 2.0, 3.0]}))),
    ("checkpoint-unknown-optimizer-tensor", "a tensor named optimizer.z", "refused", 1, "is not part of an optimizer",
     checkpoint_case(lambda t, m, s: t.append(["optimizer.z", "F32", [1], b"\0" * 4]))),
    ("checkpoint-is-model", "a model file as the checkpoint", "refused: says which it is", 1, "is a model file, not a training checkpoint",
     checkpoint_case(lambda t, m, s: m.pop("lstm.train_state") and "no state")),
    # --- arrays (.npy) ---
    ("npy-empty", "an empty .npy", "refused", 1, "magic bytes", npy_case(b"")),
    ("npy-truncated", "data shorter than the shape", "refused", 1, "is truncated",
     npy_case(lambda f: npy_of(np.zeros((4, 5, 2), np.float32))[:-8])),
    ("npy-trailing", "bytes after the data", "refused", 1, "bytes follow the data",
     npy_case(lambda f: npy_of(np.zeros((4, 5, 2), np.float32)) + b"xxxx")),
    ("npy-dtype", "dtype '<f4x'", "refused, names the conversion", 1, "holds dtype '<f4x'",
     npy_case(npy_bytes("{'descr': '<f4x', 'fortran_order': False, 'shape': (4, 5, 2), }", b"\0" * 160))),
    ("npy-negative-dimension", "shape (-4, 5, 2)", "refused", 1, "is malformed",
     npy_case(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-4, 5, 2), }", b"\0" * 160))),
    ("npy-huge-shape", "shape (10^14, 5, 2) in 200 bytes", "refused before any allocation", 1, "far more data",
     npy_case(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000000, 5, 2), }", b"\0" * 160))),
    ("npy-fortran", "Fortran order", "refused, names the fix", 1, "Fortran order",
     npy_case(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 5, 2), }", b"\0" * 160))),
    ("npy-version", "format version 9", "refused", 1, "format version 9",
     npy_case(b"\x93NUMPY\x09\x00" + b"\0" * 80)),
    ("npy-nan", "a NaN input", "refused, names the index", 1, "NaN at index [0, 1, 0]",
     npy_case(lambda f: npy_of(np.where(np.arange(40).reshape(4, 5, 2) == 2, np.nan, 0).astype(np.float32)))),
    ("npy-f8-overflow", "a float64 input of 1e300", "read as Inf, refused", 1, "Inf at index",
     npy_case(lambda f: npy_of(np.full((4, 5, 2), 1e300)))),
    ("lengths-huge", "a length of 1e30", "refused, no undefined cast", 1, "is not an integer in 1..",
     npy_case(lambda f: npy_of(np.array([1e30] * 16)), flag="lengths")),
    ("lengths-fraction", "a length of 2.5", "refused", 1, "2.500000 is not an integer",
     npy_case(lambda f: npy_of(np.array([2.5] * 16)), flag="lengths")),
    ("lengths-count", "3 lengths for 16 samples", "refused", 1, "give one length per sample",
     npy_case(lambda f: npy_of(np.array([1, 2, 3], np.int64)), flag="lengths")),
    # --- model configs (train --config) ---
    ("config-deep", "a config nested 100,000 deep", "refused while parsing", 1, "nests deeper than 64",
     config_case('{"input_shape": [5, 2], "layers": [' + "[" * 100000 + "]" * 100000 + "]}")),
    ("config-deep-bidirectional", "20,000 nested bidirectional layers", "refused while parsing", 1, "nests deeper than 64",
     config_case(nested("bidirectional", 20000))),
    ("config-not-json", "a config that is not JSON", "refused, names the file", 1, "case.json': model config is not valid JSON",
     config_case("{input_shape")),
    ("config-units-zero", "units 0", "refused", 1, "in 1..16777216, got 0",
     config_case('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 0}, {"type": "dense", "units": 1}]}')),
    ("config-units-float", "units 2.5", "refused", 1, '"units" must be an integer, got 2.5',
     config_case('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 2.5}]}')),
    ("config-parameter-limit", "an LSTM of 2^24 units (10^15 parameters)", "refused before any allocation", 1,
     "more than the limit of 2147483648",
     config_case('{"input_shape": [5, 2], "layers": [{"type": "lstm", "units": 16777216}, {"type": "dense", "units": 1}]}')),
    ("config-folder", "a folder as --config", "says it is a folder", 1, "is a folder, not a model config",
     lambda f: ["train", "--config", f.d, "--x", f.p("X.npy"), "--y", f.p("y.npy"), "--out", "OUT"]),
    # --- graph configs (train --config with "inputs" and "outputs") ---
    ("graph-config-deep", "a graph layer holding a 100,000-deep array", "refused while parsing", 1,
     "nests deeper than 64", config_case(graph_config('{"name": "d", "type": "dense", "units": 1, "inputs": ["x"], '
                                                      '"extra": ' + "[" * 100000 + "]" * 100000 + '}'))),
    ("graph-config-deep-bidirectional", "20,000 nested bidirectional layers in a graph", "refused while parsing", 1,
     "nests deeper than 64",
     config_case(graph_config('{"name": "d", "inputs": ["x"], "type": "bidirectional", "layer": %s}'
                              % nested_layer("bidirectional", 20000)))),
    ("graph-config-unknown-input", "a layer reading a name nothing has", "names the known names", 1,
     '"y" names no input or earlier layer (known: x)',
     config_case(graph_config('{"name": "d", "type": "dense", "units": 1, "inputs": ["y"]}'))),
    ("graph-config-later-layer", "a layer reading a layer listed after it", "refused, names the rule", 1,
     "a layer reads only inputs and layers listed before it",
     config_case(graph_config('{"name": "a", "type": "dense", "units": 1, "inputs": ["d"]}, '
                              '{"name": "d", "type": "dense", "units": 1, "inputs": ["x"]}', output="a"))),
    ("graph-config-call-unknown", "a call of a layer that does not exist", "refused", 1,
     '"call" must name an earlier layer',
     config_case(graph_config('{"name": "d", "call": "nowhere", "inputs": ["x"]}'))),
    ("graph-config-long-name", "a layer name of 100,000 bytes", "refused", 1, "at most 256 bytes",
     config_case(graph_config('{"name": "' + "n" * 100000 + '", "type": "dense", "units": 1, "inputs": ["x"]}'))),
    ("graph-config-parameter-limit", "an LSTM of 2^24 units in a graph (10^15 parameters)",
     "refused before any allocation", 1, "more than the limit of 2147483648 parameters",
     config_case(graph_config('{"name": "d", "type": "lstm", "units": 16777216, "inputs": ["x"]}'))),
    ("graph-config-wrong-shape", "x [16, 5, 2] for an input of [T, 3]", "names the input and both shapes", 1,
     "input 'x' has shape [16, 5, 2] but the model expects [N, T, 3]",
     config_case(graph_config('{"name": "d", "type": "dense", "units": 1, "inputs": ["x"]}', features=3))),
    # --- CSV files (train --csv) ---
    ("csv-impossible-date", "a date of 2020-02-31", "refused, names the row", 1, "'2020-02-31' is not a date",
     csv_case(GOOD_CSV.replace("2020-01-05", "2020-02-31"), "--date-column", "date")),
    ("csv-non-utf8-name", "a column name that is not UTF-8", "refused, names the fix", 1, "is not valid UTF-8",
     csv_case(b"date,\xff\xfe\n" + b"".join(b"2020-01-%02d,%d\n" % (d, d) for d in range(1, 21)), target="\udcff\udcfe")),
    ("csv-missing-cell", "an empty cell", "refused, names row and column", 1, "column 'a' is missing",
     csv_case(GOOD_CSV.replace(",5\n", ",\n"))),
    ("csv-open-quote", "a quote that never closes", "refused", 1, "never closes", csv_case(GOOD_CSV + '"2020-02-01,3\n')),
    ("csv-ragged", "a row with an extra cell", "refused, names the line", 1, "line 4 has 3 cells",
     csv_case(GOOD_CSV.replace("2020-01-03,3", "2020-01-03,3,9"))),
    ("csv-duplicate-name", "a header naming a column twice", "refused", 1, "names column 'a' twice",
     csv_case("a,a\n1,2\n")),
    ("csv-empty", "an empty CSV", "refused", 1, "is empty", csv_case("")),
    ("csv-not-number", "a cell that is not a number", "refused, names the cell", 1, "'abc' is not a number",
     csv_case(GOOD_CSV.replace(",7\n", ",abc\n"))),
    ("csv-date-gap", "a date missing from daily rows", "refused, names the gap and the fix", 1,
     "has gaps in its dates: they step by 1 day, but jump from '2020-01-06' (row 5, line 7) to '2020-01-08'",
     csv_case(GOOD_CSV.replace("2020-01-07,7\n", ""), "--date-column", "date")),
    ("csv-log-not-positive", "--transform log on a series with a zero", "refused, names the row and the fix", 1,
     "the log transform needs a positive target, but 'a' is 0.000000 at row 4 (line 6)",
     csv_case(GOOD_CSV.replace(",5\n", ",0\n"), "--transform", "log")),
    ("csv-series-empty-id", "a row without its series id", "refused, names the line", 1,
     "the series column 'id' is empty on line 5", csv_case(LONG_CSV.replace("x,2020-01-04", ",2020-01-04"), "--series-column", "id")),
    ("csv-series-all-short", "every series too short for a window", "refused, names the first and the fix", 1,
     "every one of its 2 series in 'id' is too short for a training and a test window (series x is skipped:",
     csv_case(LONG_CSV, "--series-column", "id", lookback="30")),
    ("csv-series-duplicate-date", "a date twice within one series", "refused, names the series", 1,
     "case.csv, series y", csv_case(LONG_CSV + "y,2020-01-20,5\n", "--series-column", "id", "--date-column", "date")),
    ("csv-series-column-unknown", "--series-column naming no column", "refused, lists the columns", 1,
     "no column 'city'", csv_case(LONG_CSV, "--series-column", "city")),
    ("flag-series-column-target", "--series-column naming the target", "refused", 1,
     "'a' names the series (--series-column), so it cannot also be the target",
     csv_case(LONG_CSV, "--series-column", "a")),
    ("flag-quantile-outside", "--quantiles 0.1,1.5", "refused, names the level", 1, "quantile 1.500000 is outside (0, 1)",
     csv_case(GOOD_CSV, "--quantiles", "0.1,1.5")),
    ("flag-quantiles-unsorted", "--quantiles 0.9,0.1", "refused, says the order", 1,
     "quantiles must be listed in increasing order without repeats", csv_case(GOOD_CSV, "--quantiles", "0.9,0.1")),
    ("flag-calendar-unknown", "--calendar weekday", "refused, lists the names", 1,
     "unknown calendar feature 'weekday': use hour, dow", csv_case(GOOD_CSV, "--calendar", "weekday", "--date-column", "date")),
    # --- flags ---
    ("flag-epochs-2^32", "--epochs 4294967296", "usage error with the range (was: 0 epochs, exit 0)", 2,
     "--epochs expects an integer in 0..2147483647", train_args(epochs="4294967296")),
    ("flag-lookback-wrap", "--lookback 4294967297", "usage error with the range (was: wrapped to 1)", 2,
     "--lookback expects an integer in 1..", csv_case(GOOD_CSV, lookback="4294967297")),
    ("flag-units-wrap", "--units 4294967346", "usage error with the range", 2, "--units expects an integer in 1..16777216",
     csv_case(GOOD_CSV, "--units", "4294967346")),
    ("flag-steps-huge", "forecast --steps 4294967296", "usage error with the range", 2, "--steps expects an integer in 1..1000000",
     lambda f: ["forecast", "--model", f.p("forecaster.safetensors"), "--csv", f.p("series.csv"), "--steps", "4294967296"]),
    ("flag-batch-zero", "--batch-size 0", "usage error", 2, "--batch-size expects an integer in 1..", train_args("--batch-size", "0")),
    ("flag-threads-zero", "--threads 0", "usage error", 2, "--threads expects an integer in 1..4096", train_args("--threads", "0")),
    ("flag-not-a-number", "--epochs ten", "usage error", 2, "--epochs expects an integer", train_args(epochs="ten")),
    ("flag-lr-huge", "--lr 1e39", "usage error (beyond float)", 2, "magnitude at most 3e38", train_args("--lr", "1e39")),
    ("flag-lr-nan", "--lr nan", "usage error", 2, "expects a finite number", train_args("--lr", "nan")),
    ("flag-missing-value", "--out --quiet", "usage error (was: a file named --quiet)", 2,
     "option --out needs a value (FILE), but the next argument is the option --quiet",
     lambda f: ["train", "--config", f.p("m.json"), "--x", f.p("X.npy"), "--y", f.p("y.npy"), "--out", "--quiet"]),
    ("flag-unknown", "--epoch 3", "usage error with a suggestion", 2, "did you mean --epochs", train_args("--epoch", "3")),
    # --- outputs ---
    ("out-is-input", "predict --out equal to --x", "usage error (was: the input overwritten)", 2, "is the same file as --x",
     lambda f: ["predict", "--model", f.p("model.safetensors"), "--x", f.p("X.npy"), "--out", f.p("./X.npy")]),
    ("out-is-init", "train --out equal to --init", "usage error", 2, "is the same file as --init",
     lambda f: ["train", "--init", f.p("model.safetensors"), "--x", f.p("X.npy"), "--y", f.p("y.npy"),
                "--out", f.p("model.safetensors")]),
    ("report-is-out", "--report equal to --out", "usage error", 2, "is the same file as --out",
     csv_case(GOOD_CSV, "--report", "OUT")),
    ("out-device", "--out /dev/null", "refused before training (was: /dev/null replaced)", 1,
     "it is a character device, and lstm writes only regular files", train_args(out="/dev/null")),
    ("out-folder", "--out a folder", "refused before training (was: after it)", 1, "it is a folder",
     lambda f: train_args(out=f.d)(f)),
    ("out-no-folder", "--out in a folder that does not exist", "refused before training", 1, "does not exist or is not writable",
     train_args(out="/nonexistent-folder/m.safetensors")),
    # --- divergence ---
    ("diverge-lr", "train --lr 1e6", "stops at the batch, names it and the cause, saves nothing", 1,
     "training diverged at epoch", train_args("--lr", "1e6", epochs="5")),
    ("diverge-sgd", "train --optimizer sgd --lr 1e6", "stops at the batch, saves nothing", 1,
     "Likely cause: the learning rate 1e+06 is far too high", train_args("--optimizer", "sgd", "--lr", "1e6", epochs="5")),
    ("diverge-targets", "targets of 1e30", "stops at the first batch, names the targets", 1, "Likely cause: the targets reach",
     lambda f: train_args()(f)[:6] + [f.write("ybig.npy", npy_of((np.load(f.p("y.npy")) * 1e30).astype(np.float32)))] +
     train_args()(f)[7:]),
]


class Robustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.files = Files(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_failure(self, args, code, needle, what):
        """Runs lstm in a fresh folder: exit code, message, nothing written, memory, time."""
        work = tempfile.mkdtemp(dir=self.tmp.name)
        out = os.path.join(work, "out.file")
        args = [out if a == "OUT" else a for a in args]
        before = set(os.listdir(work))
        rc, err, rss, seconds = run_measured(args, work)
        self.assertEqual(rc, code, f"{what}: lstm {' '.join(a[:80] for a in args)}\nstderr: {err[:2000]}")
        self.assertIn(needle, err, what)
        self.assertLess(len(err), 4000, f"{what}: the message is {len(err)} characters long")
        self.assertNotIn("Sanitizer", err, what)
        self.assertEqual(set(os.listdir(work)), before, f"{what}: it wrote {set(os.listdir(work)) - before}")
        self.assertLess(rss, MAX_RSS_MB, f"{what}: peak memory {rss:.0f} MB")
        self.assertLess(seconds, MAX_SECONDS, f"{what}: took {seconds:.2f} s")

    def test_matrix(self):
        self.assertGreaterEqual(len(CASES), 60)
        self.assertEqual(len({c[0] for c in CASES}), len(CASES), "case ids are unique")
        for cid, what, expect, code, needle, make in CASES:
            with self.subTest(cid):
                self.check_failure(make(self.files), code, needle, f"{cid} ({what})")

    def test_every_case_is_in_the_docs(self):
        with open(os.path.join(HERE, "../../docs/robustness.md")) as f:
            doc = f.read()
        for c in CASES:
            self.assertIn(f"`{c[0]}`", doc, "docs/robustness.md lists every case (test_robustness.py --markdown)")

    def test_the_reviews_files(self):
        """../shared/reliability/cases, each through the command that crashed on it."""
        if not os.path.isdir(SHARED_CASES):
            self.skipTest(f"no {SHARED_CASES} (the review's files; their equivalents run in test_matrix)")
        f = self.files
        names = sorted(n for n in os.listdir(SHARED_CASES) if n != "small.csv")
        self.assertGreaterEqual(len(names), 10)
        for name in names:
            path = os.path.join(SHARED_CASES, name)
            if name.endswith(".json"):
                args = ["train", "--config", path, "--x", f.p("X.npy"), "--y", f.p("y.npy"), "--out", "OUT"]
            elif "forecast-horizon" in name:
                args = ["forecast", "--model", path, "--csv", os.path.join(SHARED_CASES, "small.csv"), "--steps", "3"]
            elif "checkpoint" in name:
                ck = os.path.join(self.tmp.name, "review-ckpt.safetensors")
                shutil.copy(path, ck)
                os.chmod(ck, 0o644)
                np.save(os.path.join(self.tmp.name, "X10.npy"), np.zeros((8, 10, 2), np.float32))
                args = ["train", "--config", f.write("m10.json", json.dumps(
                    {"input_shape": [10, 2], "layers": [{"type": "lstm", "units": 8}, {"type": "dense", "units": 1}]})),
                        "--x", os.path.join(self.tmp.name, "X10.npy"), "--y", f.write("y8.npy", npy_of(np.zeros((8, 1), np.float32))),
                        "--out", "OUT", "--checkpoint", ck, "--resume", "--quiet"]
            else:
                args = ["summary", "--model", path]
            with self.subTest(name):
                self.check_failure(args, 1, "error: ", name)

    def test_what_a_write_replaces(self):
        """Symlinks are followed, modes kept, stale temporaries of dead processes removed."""
        f, d = self.files, tempfile.mkdtemp(dir=self.tmp.name)
        target, link = os.path.join(d, "real.safetensors"), os.path.join(d, "link.safetensors")
        shutil.copy(f.p("model.safetensors"), target)
        os.chmod(target, 0o600)
        os.symlink("real.safetensors", link)
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(d, f"real.safetensors.tmp-{dead.pid}-abcdef")
        alive = os.path.join(d, f"real.safetensors.tmp-{os.getpid()}-abcdef")
        for p in (stale, alive):
            open(p, "w").close()
        p = run("train", "--init", f.p("model.safetensors"), "--x", f.p("X.npy"), "--y", f.p("y.npy"),
                "--out", link, "--epochs", "1", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.islink(link), "the link stays a link")
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600, "the file keeps its mode")
        with open(target, "rb") as a, open(f.p("model.safetensors"), "rb") as b:
            self.assertNotEqual(a.read(), b.read())
        self.assertFalse(os.path.exists(stale), "a dead process's temporary is removed")
        self.assertTrue(os.path.exists(alive), "a live process's temporary is left alone")
        # a new file gets 0666 less the umask
        old = os.umask(0o027)
        try:
            p = subprocess.run([LSTM, "predict", "--model", target, "--x", f.p("X.npy"), "--out",
                                os.path.join(d, "new.npy")], capture_output=True, text=True)
        finally:
            os.umask(old)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, "new.npy")).st_mode), 0o640)
        # the data is synced before the rename, the folder after it
        if shutil.which("strace"):
            trace = os.path.join(d, "trace.txt")
            p = subprocess.run(["strace", "-f", "-e", "trace=fsync,rename,openat", "-o", trace, LSTM, "predict",
                                "--model", target, "--x", f.p("X.npy"), "--out", os.path.join(d, "synced.npy")],
                               capture_output=True, text=True,  # LeakSanitizer cannot run under ptrace
                               env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(trace) as t:
                calls = [line.split(None, 1)[1] for line in t if "fsync" in line or "rename" in line
                         or "O_DIRECTORY" in line]
            renamed = [k for k, c in enumerate(calls) if c.startswith("rename(") and "synced.npy\"" in c]
            self.assertEqual(len(renamed), 1, calls)
            k = renamed[0]
            self.assertTrue(calls[k - 1].startswith("fsync("), f"no fsync of the data before the rename: {calls}")
            self.assertTrue(any("O_DIRECTORY" in c for c in calls[k + 1:]) and calls[-1].startswith("fsync("),
                            f"the folder is not synced after the rename: {calls}")


def markdown():
    lines = ["| case | input | expected | exit | message contains |", "|---|---|---|---|---|"]
    for cid, what, expect, code, needle, _ in CASES:
        lines.append(f"| `{cid}` | {what} | {expect} | {code} | {needle.replace('|', '/')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if "--markdown" in sys.argv:
        print(markdown())
    else:
        unittest.main()
