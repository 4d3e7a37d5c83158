"""lstm demo long-memory | gates | overfitting | speed, as a learner runs them: run with
/usr/bin/python3 -m unittest test_demo_cli (ctest sets LSTM_BIN and LSTM_DATA).

Each demo's small version (--quick) must write its page and its figures; the page must render in
headless Chromium with its pictures on screen (the colours each picture must draw) and need no
network; the figures must hold what the page reports; bad usage and bad folders must fail clearly
without writing anything. The full runs' figures are in docs/claims.md."""
import json
import os
import unittest

from cli_util import HERE, CliTest, screenshot

DATA = os.environ.get("LSTM_DATA", os.path.join(HERE, "../../data"))
BLUE, ORANGE, GREEN, RED = (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28)


class Demos(CliTest):
    def demo(self, name, *extra, size="1000,3000"):
        page, figures = self.path(name + ".html"), self.path(name + ".json")
        out = self.run_lstm("demo", name, "--quick", "--out", page, "--json", figures, *extra).stdout
        self.assertIn("wrote " + page, out)
        with open(page) as f:
            html = f.read()
        self.assertNotIn("http", html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "the page must work offline")
        with open(figures) as f:
            data = json.load(f)
        pixels = screenshot(page, self.path(name + ".png"), self.path("chromium-profile"), size)
        return out, html, data, pixels

    def test_long_memory(self):
        out, html, data, pixels = self.demo("long-memory", "--lags", "8,16", "--gradient-lag", "40")
        runs = data["runs"]
        self.assertEqual({(r["task"], r["lag"], r["cell"]) for r in runs},
                         {(t, lag, c) for t in ("adding", "copy") for lag in (8, 16) for c in ("lstm", "gru", "simple_rnn")})
        for r in runs:
            if r["task"] == "adding":
                self.assertTrue(0 <= r["score"] < 10, r)
            else:
                self.assertTrue(0 <= r["score"] <= 1, r)
        # the gradient measured through the model's own backward, at the longest lag
        grads = [r for r in runs if "gradient_ratio_untrained" in r]
        self.assertEqual(len(grads), 3)
        self.assertTrue(all(r["lag"] == 16 and r["gradient_ratio_untrained"] >= 0 for r in grads))
        self.assertIn("simple_rnn", out)
        for name, rgb in [("lstm's line", BLUE), ("gru's line", ORANGE), ("simple_rnn's line", GREEN)]:
            self.assertIn(rgb, pixels, f"the page's {name} was not drawn")
        self.assertIn("Gradient reaching each step of 40-step sequences", html)

    def test_gates(self):
        out, html, data, pixels = self.demo("gates", "--data", DATA, size="1000,5000")
        self.assertIn("forecaster", data)
        self.assertTrue(0 < data["forecaster"]["forget_median"] < 1)
        cells = data["char_model"]["cells"]
        self.assertGreaterEqual(len(cells), 2)
        self.assertTrue(all(-1 <= c["correlation"] <= 1 for c in cells))
        self.assertIn("follows the position in the word", out)
        self.assertEqual(html.count('class="chart heatmap"'), 7)  # 4 of the forecaster, 3 of the character model
        self.assertIn('class="shaded"', html)
        # heat-map cells are shades of blue; shaded text runs from blue to red
        self.assertTrue(any(r == g and b == 255 and r < 200 for r, g, b in pixels), "no heat map on screen")
        self.assertTrue(any(r == 255 and g == b and g < 200 for r, g, b in pixels), "no shaded text on screen")

    def test_overfitting(self):
        out, html, data, pixels = self.demo("overfitting", "--data", DATA)
        names = [r["name"] for r in data["runs"]]
        self.assertEqual(names, ["no remedy", "dropout 0.5", "recurrent dropout 0.5", "weight decay 0.5",
                                 "early stopping", "all four"])
        for r in data["runs"]:
            self.assertAlmostEqual(r["gap"], r["val_loss"] - r["train_loss"], places=9)
            self.assertTrue(0 <= r["test_accuracy"] <= 1)
            for seed in r["seeds"]:
                self.assertEqual(len(seed["history"]["val_loss"]), seed["epochs"])
                self.assertAlmostEqual(seed["gap"], seed["val_loss"] - seed["train_loss"], places=9)
        for name, rgb in [("first curve", BLUE), ("second curve", ORANGE), ("third curve", GREEN), ("fourth", RED)]:
            self.assertIn(rgb, pixels, f"the page's {name} was not drawn")

    def test_speed(self):
        out, html, data, pixels = self.demo("speed")
        rows = {r["name"]: r for r in data["rows"]}
        self.assertEqual(set(rows), {"fit-forecaster-train", "fit-forecaster-predict"})
        self.assertTrue(all(r["lstm"] > 0 and r["pytorch"] > 0 for r in rows.values()))
        self.assertIn("blas", data)
        self.assertIn(BLUE, pixels, "this library's bars were not drawn")
        self.assertIn(ORANGE, pixels, "PyTorch's bars were not drawn")

    def test_bad_usage_and_folders_fail_clearly(self):
        page = self.path("p.html")
        err = self.run_lstm("demo", "long-memory", "--tasks", "adding,sorting", "--out", page, code=2).stderr
        self.assertIn("--tasks takes adding and/or copy", err)
        err = self.run_lstm("demo", "long-memory", "--lags", "8,x", "--out", page, code=2).stderr
        self.assertIn("--lags takes integers", err)
        err = self.run_lstm("demo", "long-memory", "--lags", "2", "--out", page, code=2).stderr
        self.assertIn("4..100000", err)
        err = self.run_lstm("demo", "gates", "--quick", "--data", self.path("nowhere"), "--out", page, code=1).stderr
        self.assertIn("seattle-weather.csv", err)
        err = self.run_lstm("demo", "overfitting", "--quick", "--out", self.path("no/such/dir/p.html"), code=1).stderr
        self.assertIn("no/such/dir", err)
        err = self.run_lstm("demo", "speed", "--quick", "--python", self.path("no-python"), "--out", page, code=1).stderr
        self.assertIn("python3-torch", err)
        err = self.run_lstm("demo", "juggling", code=2).stderr
        self.assertIn("juggling", err)
        self.assertFalse(os.path.exists(page), "a failed demo must write nothing")


if __name__ == "__main__":
    unittest.main()
