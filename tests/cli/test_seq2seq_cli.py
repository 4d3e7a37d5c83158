"""Sequence to sequence on the command line: lstm seq2seq train on pairs this test writes (a
task an encoder-decoder learns in seconds: a word's letters reversed and spelled out), translate
(--input, --file, --beam, --out), evaluate (the scores against hand-checked values), the report,
and the bad inputs of issue 15, each a clear error with exit 1 and nothing written.
Run with /usr/bin/python3 -m unittest test_seq2seq_cli (ctest sets LSTM_BIN)."""
import os
import random
import re
import unittest

from cli_util import CliTest, safetensors_parts

LETTERS = "abcdef"


def pairs(n, seed):
    """n words of 2..5 letters, each with its letters reversed and separated by spaces: a source
    at the character level, a target at the word level."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        word = "".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 5)))
        out.append((word, " ".join(reversed(word))))
    return out


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write_pairs(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join("%s\t%s\n" % r for r in rows))


class Seq2seqCli(CliTest):
    def train(self, *extra, code=0):
        return self.run_lstm("seq2seq", "train", "--pairs", self.path("train.tsv"), "--target-level", "word",
                             "--units", 32, "--embedding", 16, "--epochs", 12, "--batch-size", 32, "--lr", 0.01,
                             "--monitor", 50, "--out", self.path("m.safetensors"), *extra, code=code)

    def test_train_translate_evaluate(self):
        write_pairs(self.path("train.tsv"), pairs(1200, 1))
        write_pairs(self.path("test.tsv"), pairs(100, 2))
        p = self.train("--test", self.path("test.tsv"), "--report", self.path("report.html"), "--beam", 3)
        self.assertIn("test (100 pairs, beam 3)", p.stdout)
        exact = float(re.search(r"exact match\s+([0-9.]+)", p.stdout).group(1))
        self.assertGreater(exact, 0.5, p.stdout)  # reversal is learnt, not guessed (chance: ~0)
        _, meta, _ = safetensors_parts(self.path("m.safetensors"))
        for key in ("lstm.seq2seq", "lstm.source_vocabulary", "lstm.target_vocabulary", "lstm.graph"):
            self.assertIn(key, meta)
        html = read(self.path("report.html"))
        for part in ('id="loss-chart"', 'id="metrics-chart"', 'id="heatmap-0"', "Example outputs", "BLEU-4"):
            self.assertIn(part, html)
        # translate: --input, then --file lines; the same with --out
        with open(self.path("in.txt"), "w") as f:
            f.write("abc\nfed\n")
        out = self.run_lstm("seq2seq", "translate", "--model", self.path("m.safetensors"), "--input", "cab",
                            "--file", self.path("in.txt"), "--beam", 4).stdout.splitlines()
        self.assertEqual(len(out), 3)
        right = sum(o == " ".join(reversed(w)) for o, w in zip(out, ["cab", "abc", "fed"]))
        self.assertGreaterEqual(right, 2, out)
        self.run_lstm("seq2seq", "translate", "--model", self.path("m.safetensors"), "--file", self.path("in.txt"),
                      "--out", self.path("out.txt"))
        self.assertEqual(read(self.path("out.txt")).splitlines(), out[1:])
        # characters the vocabulary lacks read as [UNK]: an output, exit 0 (documented)
        self.run_lstm("seq2seq", "translate", "--model", self.path("m.safetensors"), "--input", "xyz")
        # evaluate prints the same metrics; its --out has source, reference, output
        e = self.run_lstm("seq2seq", "evaluate", "--model", self.path("m.safetensors"), "--pairs",
                          self.path("test.tsv"), "--out", self.path("scored.tsv")).stdout
        for metric in ("exact match", "token error rate", "word error rate", "BLEU-4", "chrF"):
            self.assertIn(metric, e)
        rows = [line.split("\t") for line in read(self.path("scored.tsv")).splitlines()]
        self.assertEqual(len(rows), 100)
        got = sum(r[1] == r[2] for r in rows) / len(rows)
        self.assertAlmostEqual(got, float(re.search(r"exact match\s+([0-9.]+)", e).group(1)), places=4)

    def test_bad_input(self):
        def fails(args, needle, code=1):
            p = self.run_lstm(*args, code=code)
            self.assertIn(needle, p.stderr)
            return p
        out = self.path("x.safetensors")
        train = lambda f, *extra: ["seq2seq", "train", "--pairs", self.path(f), "--out", out, "--epochs", 1, *extra]
        write_pairs(self.path("good.tsv"), pairs(60, 3))
        with open(self.path("columns.tsv"), "w") as f:
            f.write("ab\tb a\nabc\tc b a\textra\n")
        fails(train("columns.tsv"), "columns.tsv line 2 has 3 columns")
        with open(self.path("one.tsv"), "w") as f:
            f.write("ab\tb a\nabc\n")
        fails(train("one.tsv"), "one.tsv line 2 has 1 column")
        with open(self.path("nosource.tsv"), "w") as f:
            f.write("ab\tb a\n\tc b a\n")
        fails(train("nosource.tsv"), "line 2 has an empty source")
        with open(self.path("notarget.tsv"), "w") as f:
            f.write("ab\tb a\nabc\t\n")
        fails(train("notarget.tsv"), "line 2 has an empty target")
        with open(self.path("latin1.tsv"), "wb") as f:
            f.write(b"ab\tb a\ncaf\xe9\tx\n")
        fails(train("latin1.tsv"), "latin1.tsv line 2 is not UTF-8")
        open(self.path("empty.tsv"), "w").close()
        fails(train("empty.tsv"), "holds no pair")
        fails(train("good.tsv", "--max-target-length", 3, "--target-level", "word"),
              "more than the maximum 3")
        fails(train("missing.tsv"), "cannot open pairs")
        fails(train("good.tsv", "--attention", "luong"), "--attention", code=2)
        fails(train("good.tsv", "--units", 7, "--bidirectional"), "units must be even")
        self.assertFalse(os.path.exists(out), "a failed run wrote its model")
        # a model of another job given to translate
        with open(self.path("texts.tsv"), "w") as f:
            f.write("text\tlabel\n" + "".join("%s\t%s\n" % (w, "pos" if k % 2 else "neg")
                                               for k, (w, _) in enumerate(pairs(40, 4))))
        self.run_lstm("classify", "train", "--data", self.path("texts.tsv"), "--out", self.path("c.safetensors"),
                      "--epochs", 1, "--quiet")
        fails(["seq2seq", "translate", "--model", self.path("c.safetensors"), "--input", "ab"],
              "is a text classifier (lstm classify), not a seq2seq model")
        write_pairs(self.path("train.tsv"), pairs(200, 5))
        self.train()
        fails(["seq2seq", "translate", "--model", self.path("m.safetensors")], "give --input", code=2)
        fails(["seq2seq", "translate", "--model", self.path("m.safetensors"), "--input", "ab", "--beam", 0],
              "--beam", code=2)
        with open(self.path("blank.txt"), "w") as f:
            f.write("ab\n\nba\n")
        fails(["seq2seq", "translate", "--model", self.path("m.safetensors"), "--file", self.path("blank.txt"),
               "--out", self.path("never.txt")], "source 2")
        self.assertFalse(os.path.exists(self.path("never.txt")))


if __name__ == "__main__":
    unittest.main()
