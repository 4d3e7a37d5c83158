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


class ClassifyCli(CliTest):
    """lstm classify train | predict on labelled texts in .tsv, .csv and .jsonl files."""

    def setUp(self):
        super().setUp()
        import random
        rng = random.Random(0)
        filler = ["the", "food", "was", "and", "service", "movie", "it", "really", "quite", "place"]
        self.rows = []
        for k in range(400):
            label = "positive" if k % 2 else "negative"
            cue = rng.choice(["good", "great", "lovely"] if k % 2 else ["bad", "awful", "boring"])
            words = rng.sample(filler, 5)
            words.insert(rng.randrange(6), cue)
            self.rows.append((" ".join(words).capitalize() + ".", label))
        with open(self.path("d.tsv"), "w", encoding="utf-8") as f:
            f.write("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in self.rows))
        with open(self.path("d.csv"), "w", encoding="utf-8") as f:
            f.write("id,review,stars\n" + "".join(f'{k},"{t}",{l}\n' for k, (t, l) in enumerate(self.rows)))
        with open(self.path("d.jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in self.rows))

    def train(self, data, *extra, code=0):
        return self.run_lstm("classify", "train", "--data", self.path(data), "--out", self.path("c.safetensors"),
                             "--epochs", 4, "--units", 16, "--embedding", 8, "--quiet", *extra, code=code)

    def test_train_and_predict(self):
        out = self.train("d.tsv").stdout
        accuracy = float(re.search(r"test: accuracy ([0-9.]+) on 80 samples", out).group(1))
        self.assertGreater(accuracy, 0.9, out)
        self.assertRegex(out, r"negative +[0-9.]+ +[0-9.]+ +[0-9.]+ +\d+")
        self.assertIn("confusion (rows: true, columns: predicted)", out)
        _, meta, _ = safetensors_parts(self.path("c.safetensors"))
        self.assertEqual(json.loads(meta["lstm.classifier"]), {"labels": ["negative", "positive"], "max_length": 100})
        p = self.run_lstm("classify", "predict", "--model", self.path("c.safetensors"), "--text", "A great place",
                          "--text", "boring, really", "--text", "").stdout.splitlines()
        self.assertEqual(p[0], "label,p_negative,p_positive")
        self.assertEqual(p[1].split(",")[0], "positive")
        self.assertEqual(p[2].split(",")[0], "negative")
        self.assertEqual(len(p), 4)  # the empty text: the initial state's answer, not an error
        self.assertAlmostEqual(sum(float(v) for v in p[1].split(",")[1:]), 1.0, places=5)
        self.run_lstm("classify", "predict", "--model", self.path("c.safetensors"), "--data", self.path("d.jsonl"),
                      "--out", self.path("p.csv"))
        with open(self.path("p.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 401)
        # the same job from a CSV with other column names, and from JSONL
        self.train("d.csv", "--text-column", "review", "--label-column", "stars")
        self.train("d.jsonl")

    def test_where_and_report(self):
        # a source column: train on two of three sources, as the sentiment comparison does
        with open(self.path("s.tsv"), "w", encoding="utf-8") as f:
            f.write("text\tlabel\tsource\n" +
                    "".join(f"{t}\t{l}\t{['a', 'b', 'c'][k % 3]}\n" for k, (t, l) in enumerate(self.rows)))
        with open(self.path("s.jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(json.dumps({"text": t, "label": l, "source": k % 3}) + "\n" for k, (t, l) in enumerate(self.rows)))
        out = self.train("s.tsv", "--where", "source=a,c", "--report", self.path("c.html")).stdout
        self.assertIn("on 54 samples", out)  # 267 rows of a and c, 20% held out
        html = open(self.path("c.html"), encoding="utf-8").read()
        self.assertIn("Text classifier", html)
        self.assertIn("where source=a,c (267 texts)", html)
        self.assertIn('id="confusion-chart"', html)
        self.assertEqual(html.count('class="cell"'), 4)  # 2 x 2
        self.assertIn('id="classes"', html)
        self.assertIn("on 54 samples", self.train("s.jsonl", "--where", "source=0,2").stdout)  # JSON numbers as text
        self.assertIn("on 27 samples", self.train("s.tsv", "--where", "source=a,c", "--where", "label=positive,negative",
                                                  "--where", "source=c").stdout)
        p = self.train("s.tsv", "--where", "source=d", code=1)
        self.assertIn("none of the 400 rows", p.stderr)
        self.assertIn("source in {d}", p.stderr)
        self.assertIn("has no column 'origin'", self.train("s.tsv", "--where", "origin=a", code=1).stderr)
        self.assertIn("--where must be COLUMN=VALUE", self.train("s.tsv", "--where", "source", code=2).stderr)

    def test_bad_input(self):
        def fails(args, needle, code=1):
            p = self.run_lstm(*args, code=code)
            self.assertIn(needle, p.stderr)
        with open(self.path("one.tsv"), "w") as f:
            f.write("text\tlabel\n" + "".join(f"{t}\tpositive\n" for t, _ in self.rows[:20]))
        fails(["classify", "train", "--data", self.path("one.tsv"), "--out", self.path("x.safetensors")], "one class only")
        fails(["classify", "train", "--data", self.path("d.csv"), "--out", self.path("x.safetensors")],
              "has no column 'text' (its columns: id, review, stars)")
        fails(["classify", "train", "--data", self.path("book.txt"), "--out", self.path("x.safetensors")],
              "give a .csv, .tsv or .jsonl file")
        with open(self.path("bad.jsonl"), "w") as f:
            f.write('{"text": "fine", "label": "a"}\n{"text": 3, "label": "b"}\n')
        fails(["classify", "train", "--data", self.path("bad.jsonl"), "--out", self.path("x.safetensors")],
              "line 2 has no string \"text\"")
        with open(self.path("latin1.tsv"), "wb") as f:
            f.write(b"text\tlabel\ncaf\xe9\ta\n")
        fails(["classify", "train", "--data", self.path("latin1.tsv"), "--out", self.path("x.safetensors")],
              "is not UTF-8: byte 0xE9 at offset 14")
        fails(["classify", "predict", "--model", self.path("d.tsv")], "d.tsv")
        self.assertFalse(any(n.startswith("x.safetensors") for n in os.listdir(self.dir)))
