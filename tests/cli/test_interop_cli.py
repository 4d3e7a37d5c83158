"""PyTorch models in and out through the CLI, checked against PyTorch itself: user-written
nn.Modules (nn.LSTM, nn.GRU, nn.RNN, stacked, bidirectional, proj_size, nn.Embedding, nn.Linear)
saved with torch.save, converted by `lstm convert`, predicting what the module's own forward
returns within 1e-5; `lstm verify` agreeing layer by layer and failing a corrupted file; our
models written back as .pt that torch.load(weights_only=True) and the Twin load, and read in
again bit for bit; hostile and mismatched files refused with nothing written.
Run with /usr/bin/python3 -m unittest test_interop_cli (ctest sets LSTM_BIN and PYTHONPATH)."""
import json
import os
import unittest
import zipfile

import numpy as np
import torch

from cli_util import CliTest, tensor_bytes
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


MODULES = {"forecaster": (Forecaster, 3), "stacked_gru": (StackedGru, 4), "bi_projected": (BiProjected, 5),
           "tagger": (Tagger, 3), "classifier": (Classifier, None)}


class Interop(CliTest):
    def save_module(self, name, seed=0):
        torch.manual_seed(seed)
        cls, features = MODULES[name]
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


if __name__ == "__main__":
    unittest.main()
