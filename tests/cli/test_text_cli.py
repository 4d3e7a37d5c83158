"""Language models on the command line: lstm text train on a text file (held-out bits per
character or perplexity, the vocabulary in the model file), text score, text sample (the same
seed, the same text), and the bad inputs of issue 14, each a clear error with exit 1.
Run with /usr/bin/python3 -m unittest test_text_cli (ctest sets LSTM_BIN)."""
import json
import os
import re
import unittest

from cli_util import CliTest, safetensors_parts

PHRASES = ["the cat sat on the mat. ", "a dog ran in the park. ", "we like green tea. "]


class TextCli(CliTest):
    def setUp(self):
        super().setUp()
        # a text whose next character is easy to learn: three phrases in a fixed cycle
        with open(self.path("book.txt"), "w", encoding="utf-8") as f:
            f.write("".join(PHRASES[k % 3] for k in range(300)))

    def train(self, *extra, code=0):
        return self.run_lstm("text", "train", "--text", self.path("book.txt"), "--out", self.path("lm.safetensors"),
                             "--units", 32, "--embedding", 16, "--lookback", 20, "--epochs", 30, "--lr", 0.01,
                             "--quiet", *extra, code=code)

    def test_train_score_sample(self):
        out = self.train().stdout
        bits = float(re.search(r"held-out: ([0-9.]+) bits per character \((\d+) characters\)", out).group(1))
        self.assertLess(bits, 1.0, out)  # far below log2(27) = 4.75 of guessing among its letters
        _, meta, _ = safetensors_parts(self.path("lm.safetensors"))
        vocabulary = json.loads(meta["lstm.vocabulary"])
        self.assertEqual(vocabulary["level"], "char")
        self.assertEqual(vocabulary["standardize"], "none")
        self.assertIn("t", vocabulary["tokens"])
        self.assertEqual(json.loads(meta["lstm.text"]), {"lookback": 20})

        with open(self.path("more.txt"), "w", encoding="utf-8") as f:
            f.write("".join(PHRASES[k % 3] for k in range(30)))
        scored = self.run_lstm("text", "score", "--model", self.path("lm.safetensors"), "--text", self.path("more.txt")).stdout
        self.assertLess(float(re.search(r"([0-9.]+) bits per character", scored).group(1)), 1.0, scored)
        # characters the vocabulary lacks are [UNK], not an error
        with open(self.path("new.txt"), "w", encoding="utf-8") as f:
            f.write("ZZZ the cat sat on the mat. QQQ")
        self.run_lstm("text", "score", "--model", self.path("lm.safetensors"), "--text", self.path("new.txt"))

        def sample(seed, temperature=1.0):
            return self.run_lstm("text", "sample", "--model", self.path("lm.safetensors"), "--prompt", "the cat ",
                                 "--length", 60, "--temperature", temperature, "--seed", seed).stdout
        a, b, c = sample(1, 3.0), sample(1, 3.0), sample(2, 3.0)  # hot: the seeds' draws differ
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertTrue(a.startswith("the cat "))
        self.assertEqual(len(a.rstrip("\n")), len("the cat ") + 60)
        greedy = sample(1, 0)
        self.assertTrue(greedy.startswith("the cat sat on the mat."), greedy)

    def test_report(self):
        self.train("--report", self.path("lm.html"))
        with open(self.path("lm.html"), encoding="utf-8") as f:
            html = f.read()
        self.assertIn("Character language model", html)
        self.assertIn("bits per character", html)
        self.assertIn("<svg", html)  # the loss curves
        self.assertIn("sample (temperature 0.8, seed 1)", html)

    def test_words(self):
        out = self.train("--level", "word").stdout
        perplexity = float(re.search(r"perplexity ([0-9.]+)", out).group(1))
        self.assertLess(perplexity, 4.0, out)  # 15 words in a fixed cycle
        s = self.run_lstm("text", "sample", "--model", self.path("lm.safetensors"), "--prompt", "The cat",
                          "--length", 5, "--temperature", 0).stdout
        self.assertEqual(s.strip(), "The cat sat on the mat a")  # "the cat" read lower-cased; no punctuation

    def test_bad_input(self):
        def fails(args, needle, code=1):
            p = self.run_lstm(*args, code=code)
            self.assertIn(needle, p.stderr)
            return p
        with open(self.path("latin1.txt"), "wb") as f:
            f.write(b"the caf\xe9 is open")
        fails(["text", "train", "--text", self.path("latin1.txt"), "--out", self.path("x.safetensors")],
              "is not UTF-8: byte 0xE9 at offset 7")
        open(self.path("empty.txt"), "w").close()
        fails(["text", "train", "--text", self.path("empty.txt"), "--out", self.path("x.safetensors")],
              "has 0 tokens")
        fails(["text", "train", "--text", self.path("missing.txt"), "--out", self.path("x.safetensors")],
              "missing.txt")
        fails(["text", "train", "--text", self.path("book.txt"), "--out", self.path("x.safetensors"),
               "--level", "byte"], "--level must be char or word", code=2)
        fails(["text", "train", "--text", self.path("book.txt"), "--out", self.path("x.safetensors"),
               "--lookback", 100000], "smaller --lookback")
        self.assertFalse(any(n.startswith("x.safetensors") for n in os.listdir(self.dir)))
        self.train()
        fails(["text", "sample", "--model", self.path("lm.safetensors"), "--top-p", 0], "top_p must be in (0, 1]")
        fails(["text", "sample", "--model", self.path("lm.safetensors"), "--temperature", -1], "temperature")
        fails(["text", "score", "--model", self.path("book.txt"), "--text", self.path("book.txt")], "book.txt")
        fails(["text", "score", "--model", self.path("lm.safetensors"), "--text", self.path("latin1.txt")],
              "is not UTF-8")


if __name__ == "__main__":
    unittest.main()
