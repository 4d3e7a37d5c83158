"""Graph models on the command line: lstm train --config with a graph config (examples/configs),
--x/--y NAME=FILE.npy per input and output, predict writing one file per output, evaluate on
arrays, summary with "Connected to", resume after SIGKILL, and errors that name the fix.
Run with /usr/bin/python3 -m unittest test_graph_cli (ctest sets LSTM_BIN and LSTM_EXAMPLES)."""
import json
import os
import unittest

import numpy as np

from cli_util import CliTest

CONFIG = os.path.join(os.environ.get("LSTM_EXAMPLES", os.path.join(os.path.dirname(__file__), "../../examples")),
                      "configs", "two_heads.json")


class GraphCli(CliTest):
    def setUp(self):
        super().setUp()
        r = np.random.default_rng(0)
        seq = r.normal(size=(480, 20, 3)).astype(np.float32)
        cal = r.normal(size=(480, 4)).astype(np.float32)
        self.arrays = {"seq": seq, "cal": cal, "tags": (seq[:, :, 0] > 0).astype(np.int64),
                       "score": (seq[:, :, 1].sum(1, keepdims=True) + cal[:, :1]).astype(np.float32)}
        for name, a in self.arrays.items():
            np.save(self.path(name + ".npy"), a)
        self.data = ["--x", "seq=" + self.path("seq.npy"), "--x", "calendar=" + self.path("cal.npy"),
                     "--y", "tags=" + self.path("tags.npy"), "--y", "score=" + self.path("score.npy")]

    def train(self, *extra, code=0):
        return self.run_lstm("train", "--config", CONFIG, *self.data, "--loss", "scce,mse",
                             "--metrics", "tags=accuracy,score=mae", *extra, code=code)

    def test_train_summary_predict_evaluate(self):
        model = self.path("m.safetensors")
        out = self.train("--epochs", 3, "--validation-split", 0.25, "--out", model).stdout
        self.assertIn("val_tags_accuracy", out)
        self.assertIn("val_score_loss", out)
        summary = self.run_lstm("summary", "--model", model).stdout
        self.assertIn("Connected to", summary)
        self.assertIn("joined (Concatenate)", summary)
        self.assertIn("lstm:1, cal", summary)
        config = json.loads(summary.split("config: ", 1)[1])
        self.assertEqual(config["outputs"], ["tags", "score"])
        # the working memory fit() plans, per layer: a longer sequence takes more
        def memory(steps):
            out = self.run_lstm("summary", "--model", model, "--batch", 16, "--steps", steps).stdout
            self.assertIn(f"Working memory of one training batch (batch 16, {steps} steps in inputs of any length)", out)
            unit = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
            rows = {}
            for line in out.split("Working memory", 1)[1].splitlines()[2:]:
                if not line.startswith(" "):
                    break
                w = line.split()  # name... forward unit backward unit
                rows[w[0]] = [float(w[-4]) * unit[w[-3]], float(w[-2]) * unit[w[-1]]]
            self.assertGreater(rows["lstm"][0], 0)
            self.assertGreater(rows["lstm"][1], 0)
            parts = sum(r[0] for k, r in rows.items() if k != "Total")
            self.assertLess(abs(rows["Total"][0] - parts), 0.01 * parts)
            return rows
        self.assertGreater(memory(100)["lstm"][0], 1.5 * memory(50)["lstm"][0])
        p = self.run_lstm("summary", "--model", model, "--batch", 0, code=2)
        self.assertIn("--batch", p.stderr)
        self.run_lstm("predict", "--model", model, "--x", "seq=" + self.path("seq.npy"),
                      "--x", "calendar=" + self.path("cal.npy"), "--out", "score=" + self.path("ps.npy"),
                      "--out", "tags=" + self.path("pt.npy"))
        tags, score = np.load(self.path("pt.npy")), np.load(self.path("ps.npy"))
        self.assertEqual(tags.shape, (480, 20, 2))
        self.assertEqual(score.shape, (480, 1))
        # evaluate's losses are those of the predictions written (the files are the outputs named)
        logs = json.loads(self.run_lstm("evaluate", "--model", model, *self.data, "--json").stdout)
        scce = -np.log(np.take_along_axis(tags, self.arrays["tags"][..., None], -1)).mean()
        mse = ((score - self.arrays["score"]) ** 2).mean()
        self.assertAlmostEqual(logs["tags_loss"], scce, places=4)
        self.assertAlmostEqual(logs["score_loss"], mse, places=4)
        self.assertAlmostEqual(logs["loss"], scce + mse, places=4)
        self.assertAlmostEqual(logs["tags_accuracy"],
                               (tags.argmax(-1) == self.arrays["tags"]).mean(), places=5)
        self.assertIn("score_mae", logs)  # lstm train's metrics by default
        # --init continues from the saved graph
        self.train("--init", model, "--epochs", 1, "--out", self.path("more.safetensors"), "--quiet", code=2)
        self.run_lstm("train", "--init", model, *self.data, "--loss", "scce,mse", "--epochs", 1,
                      "--out", self.path("more.safetensors"), "--quiet")

    def test_resume_after_sigkill_gives_the_uninterrupted_weights(self):
        self.check_resume_after_sigkill("train", "--config", CONFIG, *self.data, "--loss", "scce,mse",
                                        "--metrics", "tags=accuracy,score=mae", "--epochs", 400,
                                        "--batch-size", 4, "--validation-split", 0.25,
                                        "--early-stopping", 50, "--quiet")

    def test_errors_name_the_fix_and_write_nothing(self):
        out = self.path("never.safetensors")

        def fails(args, needle, code=2):
            p = self.run_lstm(*args, code=code)
            self.assertIn(needle, p.stderr)
            self.assertFalse(os.path.exists(out))

        x = self.data[:4]
        y = self.data[4:]
        fails(["train", "--config", CONFIG, *x, y[0], y[1], "--loss", "scce,mse", "--out", out],
              "missing --y for score: give --y NAME=FILE.npy for each of tags, score")
        fails(["train", "--config", CONFIG, "--x", self.path("seq.npy"), *y, "--out", out],
              "the model has 2 (seq, calendar), so give one --x NAME=FILE.npy for each")
        fails(["train", "--config", CONFIG, *x, "--x", "weather=" + self.path("seq.npy"), *y, "--out", out],
              "the model has no 'weather'; its names are seq, calendar")
        fails(["train", "--config", CONFIG, *x, *y, "--loss", "scce,mse,mae", "--out", out],
              "gives 3 losses for 2 outputs")
        np.save(self.path("lengths.npy"), np.full(480, 20))
        fails(["train", "--config", CONFIG, *x, *y, "--loss", "scce,mse", "--lengths", self.path("lengths.npy"),
               "--out", out], "make the sequence input with lstm::Input(shape, {.lengths = true})", code=1)
        with open(CONFIG) as f:
            bad = json.load(f)
        bad["layers"] = bad["layers"][:4] + [{"name": "joined", "type": "concatenate", "inputs": ["lstm", "cal"]}] + bad["layers"][5:]
        with open(self.path("bad.json"), "w") as f:
            json.dump(bad, f)
        fails(["train", "--config", self.path("bad.json"), *x, *y, "--loss", "scce,mse", "--out", out],
              "layer 'joined' (concatenate): input 0 is [N, T, 8] and input 1 is [N, 4]", code=1)
        model = self.path("m.safetensors")
        self.train("--epochs", 1, "--out", model, "--quiet")
        fails(["predict", "--model", model, *x, "--out", self.path("p.npy")],
              "give one --out NAME=FILE.npy for each")
        self.assertFalse(os.path.exists(self.path("p.npy")))
        fails(["predict", "--model", model, *x, "--out", "tags=" + self.path("p.npy"), "--out",
               "score=" + self.path("q.npy"), "--initial-state", "s"], "--initial-state applies to Sequential")


if __name__ == "__main__":
    unittest.main()
