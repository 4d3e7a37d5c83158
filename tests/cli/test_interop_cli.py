"""Models in and out through the CLI. PyTorch, checked against PyTorch itself: user-written
nn.Modules (nn.LSTM, nn.GRU, nn.RNN, stacked, bidirectional, proj_size, nn.Embedding, nn.Linear)
saved with torch.save, converted by `lstm convert`, predicting what the module's own forward
returns within 1e-5; `lstm verify` agreeing layer by layer and failing a corrupted file; our
models written back as .pt that torch.load(weights_only=True) and the Twin load, and read in
again bit for bit; hostile and mismatched files refused with nothing written. Keras: .keras
and .h5 files in Keras's layouts (keras_fixtures.py) for every layer lstm reads, converted and
checked by `lstm verify` against Keras's equations in NumPy (scripts/keras_verify.py); what lstm
cannot represent refused by name. ONNX: every such model exported, passing onnx.checker (Debian's
python3-onnx) and matching lstm in onnxruntime (tests/onnx, an independent runtime) through
`lstm verify`, padded batches included.
Run with /usr/bin/python3 -m unittest test_interop_cli (ctest sets LSTM_BIN and PYTHONPATH)."""
import io
import json
import os
import unittest
import zipfile

import numpy as np
import torch

from cli_util import CliTest, tensor_bytes
from keras_fixtures import write_functional, write_keras2, write_keras3
from torch_twin import Twin

torch.set_num_threads(1)


class Forecaster(torch.nn.Module):  # the seed's model: out[:, -1] into the head
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 16, batch_first=True)
        self.head = torch.nn.Linear(16, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class StackedGru(torch.nn.Module):  # h_n of the top layer into the head
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(4, 12, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


class BiProjected(torch.nn.Module):  # both directions' final states, as Keras's Bidirectional
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(5, 10, num_layers=2, batch_first=True, bidirectional=True, proj_size=4)
        self.out = torch.nn.Linear(8, 2)

    def forward(self, x):
        _, (h, _) = self.rnn(x)
        return self.out(torch.cat([h[-2], h[-1]], -1))


class Tagger(torch.nn.Module):  # a sequence out: nn.RNN's whole output, no head
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(3, 6, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


class Classifier(torch.nn.Module):  # token ids -> embedding -> LSTM -> logits
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(40, 8)
        self.lstm = torch.nn.LSTM(8, 9, batch_first=True)
        self.fc = torch.nn.Linear(9, 4)

    def forward(self, x):
        _, (h, _) = self.lstm(self.embedding(x))
        return self.fc(h[-1])


class BiStack(torch.nn.Module):  # two bidirectional layers, the whole sequence into a per-step head
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(10, 2)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


class BiLastStep(torch.nn.Module):  # out[:, -1] of a bidirectional LSTM: no lstm counterpart
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)

    def forward(self, x):
        return self.rnn(x)[0][:, -1]


class Normed(torch.nn.Module):  # an operator lstm's ONNX reader does not take
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(3, 4, batch_first=True)
        self.norm = torch.nn.LayerNorm(4)

    def forward(self, x):
        return self.norm(self.rnn(x)[0])


def export_torch_onnx(module, x, path):
    """torch.onnx.export as users call it: batch and time dynamic, opset 14."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, x, path, opset_version=14, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch", 1: "time"}})


MODULES = {"forecaster": (Forecaster, 3), "stacked_gru": (StackedGru, 4), "bi_projected": (BiProjected, 5),
           "tagger": (Tagger, 3), "classifier": (Classifier, None)}


# modules whose architecture a .pt alone does not tell (a per-step head): ONNX export tests only
EXPORT_MODULES = {"bi_stack": (BiStack, 3)}


class Interop(CliTest):
    def save_module(self, name, seed=0):
        torch.manual_seed(seed)
        cls, features = {**MODULES, **EXPORT_MODULES}[name]
        module = cls().eval()
        with torch.no_grad():  # away from PyTorch's init, the second RNN bias included
            for p in module.parameters():
                p.uniform_(-0.5, 0.5)
        path = self.path(name + ".pt")
        torch.save(module.state_dict(), path)
        r = np.random.default_rng(seed)
        x = r.integers(0, 40, size=(5, 11)) if features is None else r.normal(size=(5, 11, features)).astype(np.float32)
        np.save(self.path(name + "_x.npy"), x)
        with torch.no_grad():
            y = module(torch.from_numpy(x)).numpy()
        return path, x, y

    def test_pytorch_modules_predict_as_pytorch_does(self):
        for name in MODULES:
            with self.subTest(name):
                pt, x, want = self.save_module(name)
                ours = self.path(name + ".safetensors")
                out = self.run_lstm("convert", pt, ours).stdout
                self.assertIn("architecture inferred", out)
                self.assertIn("bit for bit", out)
                self.run_lstm("predict", "--model", ours, "--x", self.path(name + "_x.npy"), "--out", self.path("y.npy"))
                got = np.load(self.path("y.npy"))
                self.assertEqual(got.shape, want.shape)
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
                # and layer by layer, with right-padded rows, in PyTorch
                out = self.run_lstm("verify", "--model", ours, "--against", pt).stdout
                self.assertIn("PyTorch 1.13", out)
                self.assertIn("right-padded", out)
                self.assertIn("verdict: the same network", out)

    def test_our_models_go_out_as_state_dicts_and_come_back_bit_for_bit(self):
        # an architecture with every layer kind PyTorch has, given as an lstm config
        config = {"input_shape": [None, 4], "layers": [
            {"type": "masking", "mask_value": 0.0},
            {"type": "bidirectional", "merge_mode": "sum", "layer": {"type": "gru", "units": 6, "return_sequences": True}},
            {"type": "dropout", "rate": 0.2},
            {"type": "lstm", "units": 8, "proj_size": 3, "return_sequences": True},
            {"type": "time_distributed", "layer": {"type": "dense", "units": 5, "activation": "tanh"}},
            {"type": "simple_rnn", "units": 4, "activation": "relu"},
            {"type": "dense", "units": 2, "activation": "linear"}]}
        twin = Twin(config, seed=3)
        torch.save(twin.state_dict(), self.path("twin.pt"))
        cfg = self.path("config.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        first = self.path("first.safetensors")
        out = self.run_lstm("convert", self.path("twin.pt"), first, "--config", cfg).stdout
        self.assertNotIn("inferred", out)
        self.assertIn("verdict: the same network",
                      self.run_lstm("verify", "--model", first, "--against", self.path("twin.pt")).stdout)
        # ours -> .pt: PyTorch loads it with weights_only, into the Twin, and computes our outputs
        back_pt = self.path("back.pt")
        self.run_lstm("convert", first, back_pt)
        state = torch.load(back_pt, weights_only=True)
        with zipfile.ZipFile(back_pt) as z:
            carried = json.loads(z.read("back/lstm_config.json"))
        twin2 = Twin(carried, seed=0)
        twin2.load_state_dict(state)  # strict: every name and shape
        x = np.random.default_rng(1).normal(size=(3, 7, 4)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        self.run_lstm("predict", "--model", first, "--x", self.path("x.npy"), "--out", self.path("y.npy"))
        with torch.no_grad():
            want = twin2.eval()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(np.load(self.path("y.npy")), want, rtol=0, atol=1e-5)
        # .pt -> ours again: the same tensors, bit for bit
        again = self.path("again.safetensors")
        out = self.run_lstm("convert", back_pt, again).stdout
        self.assertIn("the lstm config the file carries", out)
        a, meta_a = tensor_bytes(first)
        b, meta_b = tensor_bytes(again)
        self.assertEqual(a, b)
        self.assertEqual(meta_a["lstm.config"], meta_b["lstm.config"])
        self.assertIn("verdict: the same network", self.run_lstm("verify", "--model", again, "--against", first).stdout)

    def test_verify_fails_a_corrupted_file(self):
        pt, _, _ = self.save_module("bi_projected")
        ours = self.path("ours.safetensors")
        self.run_lstm("convert", pt, ours)
        state = torch.load(pt, weights_only=True)
        state["rnn.weight_hh_l1_reverse"][2, 1] += 1e-3  # one weight of the top backward direction
        torch.save(state, self.path("bad.pt"))
        out = self.run_lstm("verify", "--model", ours, "--against", self.path("bad.pt"), code=1).stdout
        lines = [l for l in out.splitlines() if l.startswith("  ")]
        self.assertIn("ok", lines[1])         # layer 0 does not use that weight
        self.assertIn("DIFFERS", lines[2])    # layer 1 does
        self.assertIn("verdict: DIFFERENT", out)
        # a tolerance that admits it
        self.run_lstm("verify", "--model", ours, "--against", self.path("bad.pt"), "--tolerance", 1e-2)

    def test_bad_files_are_refused_and_nothing_is_written(self):
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch " + self.marker,))
        Evil.marker = self.path("PWNED")
        torch.save({"w": torch.zeros(2), "x": Evil()}, self.path("evil.pt"))
        out = self.path("out.safetensors")
        err = self.run_lstm("convert", self.path("evil.pt"), out, code=1).stderr
        self.assertIn("the global posix.system", err)
        self.assertIn("would have run it", err)
        self.assertFalse(os.path.exists(Evil.marker))
        self.assertFalse(os.path.exists(out))
        # the architecture given disagrees with the file: named in the file's own names
        pt, _, _ = self.save_module("forecaster")
        wrong = '{"layers": [{"type": "lstm", "units": 8}, {"type": "dense", "units": 1}]}'
        err = self.run_lstm("convert", pt, out, "--config", wrong, code=1).stderr
        self.assertIn("has shape [64, 3] but the config says [32, 3]", err)
        self.assertIn("the file's 'lstm.weight_ih_l0'", err)
        self.assertFalse(os.path.exists(out))
        # a module the converter does not know
        torch.save({"norm.weight": torch.ones(3), "norm.running_mean": torch.zeros(3)}, self.path("bn.pt"))
        err = self.run_lstm("convert", self.path("bn.pt"), out, code=1).stderr
        self.assertIn("'norm.running_mean'", err)
        # a pickle of something else than a state_dict
        torch.save([torch.zeros(2)], self.path("list.pt"))
        self.assertIn("not a state_dict", self.run_lstm("convert", self.path("list.pt"), out, code=1).stderr)
        # a truncated file
        with open(pt, "rb") as f:
            data = f.read()
        with open(self.path("cut.pt"), "wb") as f:
            f.write(data[: len(data) // 2])
        self.run_lstm("convert", self.path("cut.pt"), out, code=1)
        self.assertFalse(os.path.exists(out))
        # usage
        self.assertIn("cannot tell the format", self.run_lstm("convert", pt, self.path("m.bin"), code=2).stderr)
        self.run_lstm("convert", pt, code=2)


def keras_layer(cls, name, **config):
    return {"class_name": cls, "config": dict(name=name, **config)}


def keras_input(shape, keras3=True):
    return keras_layer("InputLayer", "input_layer", **{("batch_shape" if keras3 else "batch_input_shape"): shape})


def bidirectional(name, inner, mode):
    return keras_layer("Bidirectional", name, merge_mode=mode, layer=inner)


# Sequential models covering every Keras layer and option lstm reads, in both file layouts.
KERAS_MODELS = {
    "stack.h5": [keras_input([None, None, 3], False),
                 keras_layer("LSTM", "lstm", units=8, return_sequences=True),
                 keras_layer("Dropout", "dropout", rate=0.3),
                 keras_layer("GRU", "gru", units=6, reset_after=True),
                 keras_layer("Dense", "dense", units=2, activation="softmax")],
    "masked.keras": [keras_input([None, 10, 4]),
                     keras_layer("Masking", "masking", mask_value=0.0),
                     bidirectional("bidirectional", keras_layer("LSTM", "lstm", units=5, return_sequences=True), "concat"),
                     keras_layer("TimeDistributed", "time_distributed",
                                 layer=keras_layer("Dense", "dense", units=3, activation="tanh")),
                     keras_layer("SimpleRNN", "simple_rnn", units=4, activation="relu"),
                     keras_layer("Dense", "dense_1", units=1)],
    "tokens.keras": [keras_input([None, None]),
                     keras_layer("Embedding", "embedding", input_dim=20, output_dim=6, mask_zero=True),
                     bidirectional("bidirectional", keras_layer("GRU", "gru", units=4, reset_after=True), "sum"),
                     keras_layer("Dense", "dense", units=2, activation="sigmoid")],
    "tokens.h5": [keras_layer("Embedding", "embedding", input_dim=15, output_dim=5, mask_zero=True, input_length=9,
                              batch_input_shape=[None, 9]),
                  bidirectional("bidirectional", keras_layer("SimpleRNN", "simple_rnn", units=3, return_sequences=True), "mul"),
                  bidirectional("bidirectional_1", keras_layer("LSTM", "lstm", units=4, use_bias=False), "ave"),
                  keras_layer("Dense", "dense", units=2, use_bias=False)],
    "backwards.keras": [keras_input([None, 7, 2]),
                        keras_layer("LSTM", "lstm", units=5, return_sequences=True, go_backwards=True, activation="relu"),
                        keras_layer("LSTM", "lstm_1", units=4, return_sequences=True, recurrent_activation="hard_sigmoid"),
                        bidirectional("bidirectional", keras_layer("LSTM", "lstm_2", units=3), None)],
    # reset_after = false: Keras 2's default GRU (one bias [3 units]), and Keras 3's by option
    "reset_before.h5": [keras_input([None, 6, 3], False),
                        keras_layer("GRU", "gru", units=5, return_sequences=True, reset_after=False),
                        keras_layer("GRU", "gru_1", units=4, go_backwards=True, reset_after=False),
                        keras_layer("Dense", "dense", units=2)],
    "reset_before.keras": [keras_input([None, None, 2]),
                           bidirectional("bidirectional", keras_layer("GRU", "gru", units=3, return_sequences=True,
                                                                      reset_after=False), "concat"),
                           keras_layer("GRU", "gru_1", units=4, reset_after=False),
                           keras_layer("Dense", "dense", units=1)],
}


class KerasFiles(CliTest):
    def write(self, name, layers, seed=1):
        path = self.path(name)
        (write_keras3 if name.endswith(".keras") else write_keras2)(path, layers, seed)
        return path

    def test_every_layer_matches_kerass_equations(self):
        for name, layers in KERAS_MODELS.items():
            with self.subTest(name):
                keras = self.write(name, layers)
                ours = self.path(name + ".safetensors")
                out = self.run_lstm("convert", keras, ours).stdout
                self.assertIn("Keras model", out)
                self.assertIn("bit for bit", out)
                out = self.run_lstm("verify", "--model", ours, "--against", keras).stdout
                self.assertIn("NumPy equations", out)
                self.assertIn("verdict: the same network", out)
                if layers[0]["class_name"] in ("Masking",) or any(l["class_name"] == "Masking" for l in layers[:2]) or \
                        any(l["config"].get("mask_zero") for l in layers[:2]):
                    self.assertIn("right-padded", out)  # a mask: padded rows compared too
                # the Keras file itself as the model
                self.assertIn("verdict: the same network",
                              self.run_lstm("verify", "--model", keras, "--against", keras).stdout)
        # the architecture as read: merge modes, masks, options
        summary = self.run_lstm("summary", "--model", self.path("tokens.h5.safetensors")).stdout
        config = json.loads(summary.split("config: ", 1)[1])
        self.assertEqual(config["input_shape"], [9])
        self.assertEqual([l.get("merge_mode") for l in config["layers"]], [None, "mul", "ave", None])
        self.assertTrue(config["layers"][0]["mask_zero"])

    def test_our_models_go_out_as_keras_files_and_come_back_bit_for_bit(self):
        import h5py
        for name, layers in KERAS_MODELS.items():
            with self.subTest(name):
                ours = self.path(name + ".safetensors")
                self.run_lstm("convert", self.write(name, layers), ours)
                out_keras = self.path("out_" + name.split(".")[0] + ".keras")
                self.assertIn("bit for bit", self.run_lstm("convert", ours, out_keras).stdout)
                # Keras 3's layout, read with h5py and zipfile
                with zipfile.ZipFile(out_keras) as z:
                    self.assertEqual(sorted(z.namelist()), ["config.json", "metadata.json", "model.weights.h5"])
                    self.assertTrue(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()))
                    config = json.loads(z.read("config.json"))
                    weights = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
                self.assertEqual(config["class_name"], "Sequential")
                classes = [l["class_name"] for l in config["config"]["layers"]]
                self.assertEqual(classes[0], "InputLayer")
                self.assertEqual(classes[1:], [l["class_name"] for l in layers if l["class_name"] != "InputLayer"])
                for layer in config["config"]["layers"][1:]:
                    group = "layers/" + layer["config"]["name"]
                    cls = layer["class_name"]
                    expect = {"LSTM": ["cell/vars/0", "cell/vars/1"], "GRU": ["cell/vars/2"],
                              "SimpleRNN": ["cell/vars/2"], "Dense": ["vars/0"], "Embedding": ["vars/0"],
                              "TimeDistributed": ["layer/vars/0"],
                              "Bidirectional": ["forward_layer/cell/vars/0", "backward_layer/cell/vars/1"]}.get(cls, ["vars"])
                    for sub in expect:
                        self.assertIn(group + "/" + sub, weights, f"{cls}: {group}/{sub}")
                # Keras's equations on it give ours; read back, the same tensors bit for bit
                self.assertIn("verdict: the same network",
                              self.run_lstm("verify", "--model", ours, "--against", out_keras).stdout)
                again = self.path("again.safetensors")
                self.run_lstm("convert", out_keras, again)
                self.assertEqual(tensor_bytes(ours)[0], tensor_bytes(again)[0])
                self.assertEqual(tensor_bytes(ours)[1]["lstm.config"], tensor_bytes(again)[1]["lstm.config"])

    def test_functional_models_read_as_graphs(self):
        L = keras_layer
        encoder_decoder = {
            "inputs": [("enc", [None, 7, 3]), ("dec", [None, 5, 2]), ("cal", [None, 4])],
            "layers": [
                (L("LSTM", "enc_lstm", units=6, return_sequences=True, return_state=True), [("enc", 0)], []),
                (L("LSTM", "dec_lstm", units=6, return_sequences=True), [("dec", 0)], [("enc_lstm", 1), ("enc_lstm", 2)]),
                (L("Attention", "attn", use_scale=True), [("dec_lstm", 0), ("enc_lstm", 0)], []),
                (L("Concatenate", "joined", axis=-1), [("dec_lstm", 0), ("attn", 0)], []),
                (L("LayerNormalization", "norm", axis=-1, epsilon=1e-3), [("joined", 0)], []),
                (L("TimeDistributed", "tags", layer=L("Dense", "dense", units=3, activation="softmax")), [("norm", 0)], []),
                (L("Dense", "cal_dense", units=6, activation="tanh"), [("cal", 0)], []),
                (L("GRU", "summary", units=6, reset_after=True), [("enc", 0)], []),
                (L("Add", "added"), [("summary", 0), ("cal_dense", 0)], []),
                (L("Dense", "score", units=1), [("added", 0)], [])],
            "outputs": [("tags", 0), ("score", 0)]}
        merges = {
            "inputs": [("x", [None, None, 3])],
            "layers": [
                (L("Bidirectional", "bi", merge_mode="concat", layer=L("LSTM", "lstm", units=4, return_sequences=True)),
                 [("x", 0)], []),
                (L("AdditiveAttention", "att", use_scale=True), [("bi", 0), ("bi", 0)], []),
                (L("Average", "avg"), [("bi", 0), ("att", 0)], []),
                (L("Multiply", "mul"), [("bi", 0), ("att", 0)], []),
                (L("Concatenate", "cat"), [("avg", 0), ("mul", 0)], []),
                (L("SimpleRNN", "rnn", units=3), [("cat", 0)], []),
                (L("RepeatVector", "rep", n=2), [("rnn", 0)], []),
                (L("Dense", "out", units=2), [("rep", 0)], [])],
            "outputs": [("out", 0)]}
        # shared layers (a siamese pair): one GRU and one Dense, each called twice with the same
        # weights; the GRU's second call reads a layer listed after it in the config
        shared = {
            "inputs": [("a", [None, 6, 3]), ("b", [None, 6, 3])],
            "layers": [
                (L("GRU", "enc", units=4, reset_after=False), [("a", 0)], []),
                (L("TimeDistributed", "pre", layer=L("Dense", "dense", units=3, activation="tanh")), [("b", 0)], []),
                ("call", "enc", [("pre", 0)], []),
                (L("Dense", "proj", units=3, activation="tanh"), [("enc", 0, 0)], []),
                ("call", "proj", [("enc", 1, 0)], []),
                (L("Multiply", "both"), [("proj", 0, 0), ("proj", 1, 0)], []),
                (L("Dense", "out", units=1), [("both", 0)], [])],
            "outputs": [("out", 0), ("proj", 1, 0)]}
        for spec_name, spec in {"encoder_decoder": encoder_decoder, "merges": merges, "shared": shared}.items():
            for keras3 in (True, False):
                name = spec_name + (".keras" if keras3 else ".h5")
                with self.subTest(name):
                    keras = self.path(name)
                    write_functional(keras, spec, 3, keras3)
                    ours = self.path(name + ".safetensors")
                    out = self.run_lstm("convert", keras, ours).stdout
                    self.assertIn("a graph", out)
                    self.assertIn("bit for bit", out)
                    out = self.run_lstm("verify", "--model", ours, "--against", keras).stdout
                    self.assertIn("NumPy equations", out)
                    self.assertIn("verdict: the same network", out)
                    summary = self.run_lstm("summary", "--model", ours).stdout
                    self.assertIn("Connected to", summary)
                    if spec is shared:
                        self.assertIn("2 of them shared", self.run_lstm("convert", keras, ours).stdout)
                    # and out again as a Keras 3 functional model: Keras's equations on it give
                    # ours, and read back it is the same graph bit for bit
                    out_keras = self.path("out_" + name.replace(".", "_") + ".keras")
                    out = self.run_lstm("convert", ours, out_keras).stdout
                    self.assertIn("the same graph", out)
                    with zipfile.ZipFile(out_keras) as z:
                        config = json.loads(z.read("config.json"))
                    self.assertEqual(config["class_name"], "Functional")
                    calls = {l["name"]: len(l["inbound_nodes"]) for l in config["config"]["layers"]}
                    for item in spec["layers"]:
                        if item[0] == "call":
                            self.assertGreater(calls[item[1]], 1)
                    self.assertIn("verdict: the same network",
                                  self.run_lstm("verify", "--model", ours, "--against", out_keras).stdout)
                    again = self.path("again_" + name.replace(".", "_") + ".safetensors")
                    self.run_lstm("convert", out_keras, again)
                    self.assertEqual(tensor_bytes(ours)[0], tensor_bytes(again)[0])
        # a different file of the same graph fails
        write_functional(self.path("other.keras"), merges, 4, True)
        out = self.run_lstm("verify", "--model", self.path("merges.keras.safetensors"), "--against",
                            self.path("other.keras"), code=1).stdout
        self.assertIn("verdict: DIFFERENT", out)

    def test_a_different_file_fails_verify(self):
        layers = KERAS_MODELS["masked.keras"]
        ours = self.path("ours.safetensors")
        self.run_lstm("convert", self.write("m.keras", layers, seed=1), ours)
        out = self.run_lstm("verify", "--model", ours, "--against", self.write("other.keras", layers, seed=2),
                            code=1).stdout
        self.assertIn("DIFFERS", out)
        self.assertIn("verdict: DIFFERENT", out)

    def test_what_lstm_cannot_represent_is_refused_by_name(self):
        out = self.path("out.safetensors")
        cases = {
            "conv.keras": ([keras_input([None, 5, 2]), keras_layer("Conv1D", "conv1d", filters=3, kernel_size=2)],
                           "the layer class Conv1D"),
            "hard.h5": ([keras_input([None, 5, 2], False),
                         keras_layer("LSTM", "lstm", units=3, recurrent_activation="hard_sigmoid")],
                        "clip(0.2x + 0.5, 0, 1)"),
            "backward_layer.keras": ([keras_input([None, 5, 2]),
                                      keras_layer("Bidirectional", "bidirectional", merge_mode="concat",
                                                  layer=keras_layer("LSTM", "lstm", units=3),
                                                  backward_layer=keras_layer("LSTM", "lstm_b", units=3))],
                                     "a backward_layer of its own"),
        }
        for name, (layers, message) in cases.items():
            with self.subTest(name):
                err = self.run_lstm("convert", self.write(name, layers), out, code=1).stderr
                self.assertIn(message, err)
                self.assertFalse(os.path.exists(out))
        # a GRU with reset_after = false loads, but nn.GRU cannot hold it
        rb = self.path("rb.safetensors")
        self.run_lstm("convert", self.write("rb.h5", KERAS_MODELS["reset_before.h5"]), rb)
        err = self.run_lstm("convert", rb, self.path("rb.pt"), code=1).stderr
        self.assertIn("reset_after = false has no nn.GRU counterpart", err)
        self.assertFalse(os.path.exists(self.path("rb.pt")))
        # a functional model, weights saved alone, a truncated and a compressed archive
        good = self.write("good.keras", KERAS_MODELS["masked.keras"])
        with zipfile.ZipFile(good) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        functional = dict(json.loads(parts["config.json"]), class_name="Functional")
        with zipfile.ZipFile(self.path("functional.keras"), "w") as z:
            for n, data in parts.items():
                z.writestr(n, json.dumps(functional) if n == "config.json" else data)
        self.assertIn('missing "inbound_nodes"',  # a Sequential's layers relabelled as a functional model's
                      self.run_lstm("convert", self.path("functional.keras"), out, code=1).stderr)
        with zipfile.ZipFile(self.path("deflated.keras"), "w", compression=zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data)
        self.assertIn("compressed entry", self.run_lstm("convert", self.path("deflated.keras"), out, code=1).stderr)
        with open(good, "rb") as f:
            data = f.read()
        with open(self.path("cut.keras"), "wb") as f:
            f.write(data[: len(data) * 2 // 3])
        self.run_lstm("convert", self.path("cut.keras"), out, code=1)
        import h5py
        with h5py.File(self.path("weights_only.h5"), "w") as h5:
            h5.attrs["layer_names"] = np.array([b"lstm"])
        self.assertIn("without the model_config attribute",
                      self.run_lstm("convert", self.path("weights_only.h5"), out, code=1).stderr)
        self.assertFalse(os.path.exists(out))
        # a file on which libhdf5 reads past its own buffer (a fuzz seed): read in the child, an
        # error here, nothing written
        seeds = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "keras")
        err = self.run_lstm("convert", os.path.join(seeds, "libhdf5-h5o-attr-overread.h5"), out, code=1).stderr
        self.assertIn("libhdf5-h5o-attr-overread.h5: ", err)
        self.assertFalse(os.path.exists(out))
        self.assertIn("name the output <name>.keras", self.run_lstm("convert", good, self.path("x.h5"), code=2).stderr)


ONNX_RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx", "node_modules", "onnxruntime-node")


class OnnxExport(CliTest):
    def setUp(self):
        super().setUp()
        self.assertTrue(os.path.isdir(ONNX_RUNTIME), "onnxruntime-node is missing: scripts/install-deps.sh test installs it")

    def export_and_run(self, ours, name, lengths):
        import onnx
        path = self.path(name + ".onnx")
        extra = ["--sequence-lens"] if lengths else []
        out = self.run_lstm("convert", ours, path, *extra).stdout
        self.assertIn("passed onnx::checker", out)
        onnx.checker.check_model(onnx.load(path))  # python3-onnx's checker too
        out = self.run_lstm("verify", "--model", ours, "--against", path).stdout
        self.assertIn("onnxruntime 1.20.1", out)
        self.assertIn("verdict: the same network", out)
        return path, out

    def test_models_run_in_onnxruntime_as_in_lstm(self):
        cases = []
        for name, layers in KERAS_MODELS.items():
            keras = self.path(name)
            (write_keras3 if name.endswith(".keras") else write_keras2)(keras, layers, 1)
            ours = self.path(name + ".safetensors")
            self.run_lstm("convert", keras, ours)
            masked = any(l["class_name"] == "Masking" or l["config"].get("mask_zero") for l in layers[:2])
            cases.append((name, ours, not masked))
        for name in ("forecaster", "stacked_gru", "tagger", "classifier"):
            pt, _, _ = Interop.save_module(self, name)
            ours = self.path(name + ".safetensors")
            self.run_lstm("convert", pt, ours)
            cases.append((name, ours, True))
        # peepholes, go_backwards over padded rows, a GRU pair averaged, hard_sigmoid: trained here
        config = {"input_shape": [None, 3], "layers": [
            {"type": "lstm", "units": 4, "use_peepholes": True, "return_sequences": True, "go_backwards": True},
            {"type": "bidirectional", "merge_mode": "ave", "layer": {"type": "gru", "units": 3, "return_sequences": True}},
            {"type": "dense", "units": 2, "activation": "hard_sigmoid"}]}
        with open(self.path("peep.json"), "w") as f:
            json.dump(config, f)
        r = np.random.default_rng(4)
        np.save(self.path("X.npy"), r.normal(size=(16, 6, 3)).astype(np.float32))
        np.save(self.path("Y.npy"), r.uniform(size=(16, 6, 2)).astype(np.float32))
        self.run_lstm("train", "--config", self.path("peep.json"), "--x", self.path("X.npy"), "--y", self.path("Y.npy"),
                      "--epochs", 2, "--quiet", "--out", self.path("peep.safetensors"))
        cases.append(("peep", self.path("peep.safetensors"), True))
        for name, ours, lengths in cases:
            with self.subTest(name):
                path, out = self.export_and_run(ours, name, lengths)
                self.assertIn("right-padded", out)  # every case sees padded rows: a lengths input or a mask
                # and back: the same tensors bit for bit
                back = self.path(name + ".back.safetensors")
                self.assertIn("bit for bit", self.run_lstm("convert", path, back).stdout)
                self.assertEqual(tensor_bytes(ours)[0], tensor_bytes(back)[0])

    def test_a_changed_weight_fails_and_what_onnx_lacks_is_refused(self):
        import onnx
        from onnx import numpy_helper
        pt, _, _ = Interop.save_module(self, "forecaster")
        ours = self.path("f.safetensors")
        self.run_lstm("convert", pt, ours)
        path, _ = self.export_and_run(ours, "f", True)
        m = onnx.load(path)
        w = next(t for t in m.graph.initializer if t.name.startswith("R_"))
        a = numpy_helper.to_array(w).copy()
        a.flat[3] += 0.5  # one recurrent weight
        w.CopyFrom(numpy_helper.from_array(a, w.name))
        onnx.save(m, self.path("bad.onnx"))
        out = self.run_lstm("verify", "--model", ours, "--against", self.path("bad.onnx"), code=1).stdout
        self.assertIn("verdict: DIFFERENT", out)
        # proj_size: ONNX's LSTM has no projection
        pt, _, _ = Interop.save_module(self, "bi_projected")
        self.run_lstm("convert", pt, self.path("p.safetensors"))
        err = self.run_lstm("convert", self.path("p.safetensors"), self.path("p.onnx"), code=1).stderr
        self.assertIn("proj_size", err)
        self.assertFalse(os.path.exists(self.path("p.onnx")))
        # what lstm cannot hold is named: out[:, -1] of a bidirectional layer (its backward half
        # at step 0), and an operator outside the subset
        for module, message in ((BiLastStep(), "out[:, -1] of a bidirectional layer"), (Normed(), "node '/norm/")):
            path = self.path(type(module).__name__ + ".onnx")
            export_torch_onnx(module.eval(), torch.zeros(2, 5, 3), path)
            err = self.run_lstm("convert", path, self.path("t.safetensors"), code=1).stderr
            self.assertIn(message, err)
            self.assertFalse(os.path.exists(self.path("t.safetensors")))

    def test_pytorchs_own_onnx_exports_read_in(self):
        # torch.onnx.export's graphs (zero initial states built from the input's shape, Squeeze,
        # Transpose, Reshape between layers, out[:, -1] and h_n[-1] as Gather, nn.Linear as Gemm
        # or MatMul + Add): the same weights as the .pt gives, bit for bit, and onnxruntime's outputs
        for name in ("forecaster", "stacked_gru", "tagger", "classifier", "bi_stack"):
            with self.subTest(name):
                pt, _, _ = Interop.save_module(self, name)
                cls, features = {**MODULES, **EXPORT_MODULES}[name]
                module = cls().eval()
                module.load_state_dict(torch.load(pt))
                x = torch.zeros(2, 5, dtype=torch.long) if features is None else torch.zeros(2, 5, features)
                onnx_path = self.path(name + ".onnx")
                export_torch_onnx(module, x, onnx_path)
                from_onnx, from_pt = self.path(name + ".onnx.safetensors"), self.path(name + ".pt.safetensors")
                self.assertIn("bit for bit", self.run_lstm("convert", onnx_path, from_onnx).stdout)
                self.run_lstm("convert", pt, from_pt)
                self.assertEqual(tensor_bytes(from_onnx)[0], tensor_bytes(from_pt)[0])
                out = self.run_lstm("verify", "--model", from_onnx, "--against", onnx_path).stdout
                self.assertIn("onnxruntime 1.20.1", out)
                self.assertIn("verdict: the same network", out)


if __name__ == "__main__":
    unittest.main()
