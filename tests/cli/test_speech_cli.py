"""Speech recognition on the command line: lstm speech train on recordings this test writes (a
language a small LSTM learns in seconds: the words "do", "re" and "mi" spoken as tones of 400,
800 and 1600 Hz), evaluate, transcribe (files, --lexicon, --raw, --stream from standard input,
which must give the offline text), the report, and the bad inputs of issue 16: a file that is
not audio, a truncated WAV, an unsupported encoding, silence, a clip shorter than one frame, a
transcript with characters outside the labels, a transcript longer than its audio can carry.
Each is a clear error with exit 1 and nothing written.
Run with /usr/bin/python3 -m unittest test_speech_cli (ctest sets LSTM_BIN)."""
import os
import random
import re
import struct
import subprocess
import unittest
import wave

import numpy as np

from cli_util import LSTM, CliTest, safetensors_parts

RATE = 8000
TONES = {"do": 400.0, "re": 800.0, "mi": 1600.0}


def utterance(words, rng):
    parts = [np.zeros(int(RATE * rng.uniform(0.05, 0.2)))]
    for w in words:
        n = int(RATE * rng.uniform(0.15, 0.25))
        t = np.arange(n) / RATE
        envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        parts.append(rng.uniform(0.2, 0.6) * envelope * np.sin(2 * np.pi * TONES[w] * rng.uniform(0.97, 1.03) * t))
        parts.append(np.zeros(int(RATE * rng.uniform(0.05, 0.15))))
    x = np.concatenate(parts)
    return x + 0.01 * np.random.default_rng(rng.randint(0, 1 << 30)).standard_normal(len(x))


def write_wav(path, x, rate=RATE, tag=None):
    pcm = np.round(np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    if tag is not None:  # rewrite the format tag: an encoding libsndfile does not read
        with open(path, "r+b") as f:
            f.seek(20)
            f.write(struct.pack("<H", tag))


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def make_set(folder, name, count, seed):
    rng = random.Random(seed)
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    lines = []
    for i in range(count):
        words = [rng.choice(list(TONES)) for _ in range(rng.randint(1, 4))]
        rel = f"{name}/{i:04d}.wav"
        write_wav(os.path.join(folder, rel), utterance(words, rng))
        lines.append(f"{rel}\t{' '.join(words)}\n")
    with open(os.path.join(folder, name + ".tsv"), "w") as f:
        f.writelines(lines)
    return [l.rstrip("\n").split("\t") for l in lines]


class SpeechCli(CliTest):
    @classmethod
    def setUpClass(cls):
        # one trained model of each kind for the whole class (training is the slow part)
        import tempfile
        cls.shared = tempfile.TemporaryDirectory()
        d = cls.shared.name
        cls.train_rows = make_set(d, "train", 300, 1)
        cls.valid_rows = make_set(d, "valid", 40, 2)
        common = ["--audio", d, "--transcripts", os.path.join(d, "train.tsv"), "--valid", os.path.join(d, "valid.tsv"),
                  "--sample-rate", RATE, "--mel-bands", 20, "--units", 32, "--layers", 1, "--epochs", 20,
                  "--lr", 0.01, "--batch-size", 16, "--quiet"]
        def train(*extra):
            p = subprocess.run([LSTM, "speech", "train", *map(str, common + list(extra))], capture_output=True, text=True,
                               timeout=900)
            assert p.returncode == 0, p.stdout + p.stderr
            return p
        cls.bi_out = train("--out", os.path.join(d, "bi.safetensors"), "--report", os.path.join(d, "report.html"))
        # the streaming model trained with SpecAugment's masks, which must then stream as the identity
        cls.uni_out = train("--out", os.path.join(d, "uni.safetensors"), "--unidirectional", "--deltas", 1,
                            "--frequency-masks", 1, "--frequency-width", 3, "--time-masks", 1, "--time-width", 2)

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def shared_path(self, name):
        return os.path.join(self.shared.name, name)

    def test_train_reports_and_scores(self):
        out = self.bi_out.stdout
        wer = float(re.search(r"word error rate ([0-9.]+)", out).group(1))
        self.assertLess(wer, 0.1, out)  # chance is far above: three words, 1-4 per recording
        _, meta, _ = safetensors_parts(self.shared_path("bi.safetensors"))
        self.assertIn("lstm.speech", meta)
        html = read(self.shared_path("report.html"))
        self.assertIn("Validation scores", html)
        self.assertIn("<svg", html)
        p = self.run_lstm("speech", "evaluate", "--model", self.shared_path("bi.safetensors"), "--audio",
                          self.shared.name, "--transcripts", self.shared_path("valid.tsv"), "--out", self.path("o.tsv"))
        self.assertLess(float(re.search(r"word error rate ([0-9.]+)", p.stdout).group(1)), 0.1, p.stdout)
        self.assertIn("real-time factor", p.stdout)
        rows = [l.split("\t") for l in read(self.path("o.tsv")).splitlines()]
        self.assertEqual(len(rows), 40)
        right = sum(r[1] == r[2] for r in rows)
        self.assertGreater(right, 30)

    def test_transcribe_files_lexicon_and_raw(self):
        files = [self.shared_path(r[0]) for r in self.valid_rows[:6]]
        p = self.run_lstm("speech", "transcribe", "--model", self.shared_path("bi.safetensors"), *files)
        lines = p.stdout.splitlines()
        self.assertEqual([l.split("\t")[0] for l in lines], files)  # one line per file, in order
        texts = [l.split("\t")[1] for l in lines]
        self.assertGreaterEqual(sum(t == r[1] for t, r in zip(texts, self.valid_rows[:6])), 5, p.stdout)
        p = self.run_lstm("speech", "transcribe", "--model", self.shared_path("bi.safetensors"), "--beam", 8,
                          "--lexicon", "training", *files)
        lines = p.stdout.splitlines()
        self.assertEqual([l.split("\t")[0] for l in lines], files)
        for line in lines:  # whole words of the training transcripts, and the words said
            words = line.split("\t")[1].split()
            self.assertTrue(words and all(w in TONES for w in words), line)
        self.assertGreaterEqual(sum(l.split("\t")[1] == r[1] for l, r in zip(lines, self.valid_rows[:6])), 5,
                                p.stdout)
        # a word score (negative: fewer words) keeps whole words; without a lexicon it is refused
        p = self.run_lstm("speech", "transcribe", "--model", self.shared_path("bi.safetensors"), "--lexicon", "training",
                          "--word-score", -3, *files)
        for line in p.stdout.splitlines():
            words = line.split("\t")[1].split()
            self.assertTrue(words and all(w in TONES for w in words), line)
        p = self.run_lstm("speech", "transcribe", "--model", self.shared_path("bi.safetensors"), "--word-score", -3,
                          files[0], code=2)
        self.assertIn("--word-score needs --lexicon", p.stderr)
        # the same recording as headerless PCM
        with wave.open(files[0]) as w:
            frames = w.readframes(w.getnframes())
        write(self.path("a.raw"), frames, "wb")
        p2 = self.run_lstm("speech", "transcribe", "--model", self.shared_path("bi.safetensors"), "--raw", "--rate", RATE,
                           self.path("a.raw"))
        self.assertEqual(p2.stdout.split("\t")[1], texts[0] + "\n")

    def test_stream_equals_offline(self):
        model = self.shared_path("uni.safetensors")
        _, meta, _ = safetensors_parts(model)
        self.assertIn('"type":"spec_augment"', meta["lstm.config"])
        wer = float(re.search(r"word error rate ([0-9.]+)", self.uni_out.stdout).group(1))
        self.assertLess(wer, 0.15, self.uni_out.stdout)
        files = [self.shared_path(r[0]) for r in self.valid_rows[:5]]
        offline = self.run_lstm("speech", "transcribe", "--model", model, *files).stdout.splitlines()
        for f, line in zip(files, offline):
            with wave.open(f) as w:
                pcm = w.readframes(w.getnframes())
            # at 16 kHz, as a client would send it: the stream resamples
            x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            up = np.round(np.interp(np.arange(2 * len(x)) / 2.0, np.arange(len(x)), x)).astype("<i2").tobytes()
            p = subprocess.run([LSTM, "speech", "transcribe", "--model", model, "--stream", "--rate", str(RATE)],
                               input=pcm, capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.decode().strip(), line.split("\t")[1], f)
            self.assertIn(b"latency", p.stderr)
            p = subprocess.run([LSTM, "speech", "transcribe", "--model", model, "--stream", "--rate", str(2 * RATE)],
                               input=up, capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            # the same 16 kHz audio as a file, resampled in one piece, reads the same
            write(self.path("up.raw"), up, "wb")
            q = self.run_lstm("speech", "transcribe", "--model", model, "--raw", "--rate", 2 * RATE, self.path("up.raw"))
            self.assertEqual(p.stdout.decode().strip(), q.stdout.split("\t")[1].strip(), f)
        p = self.run_lstm("speech", "transcribe", "--model", model, "--stream", "--beam", 4, code=2)
        self.assertIn("decodes greedily", p.stderr)
        bi = subprocess.run([LSTM, "speech", "transcribe", "--model", self.shared_path("bi.safetensors"), "--stream"],
                            input=b"", capture_output=True, timeout=60)
        self.assertEqual(bi.returncode, 1)
        self.assertIn(b"cannot stream", bi.stderr)

    def test_bad_recordings(self):
        model = self.shared_path("bi.safetensors")
        write(self.path("text.wav"), "do re mi\n")
        good = read(self.shared_path(self.valid_rows[0][0]), "rb")
        write(self.path("cut.wav"), good[:len(good) // 2], "wb")
        write_wav(self.path("mp3.wav"), np.zeros(800) + 0.1, tag=0x55)
        write_wav(self.path("silent.wav"), np.zeros(8000))
        write_wav(self.path("short.wav"), 0.3 * np.sin(np.arange(100)))
        # several files, the bad one last: nothing printed for the good ones before it
        p = self.run_lstm("speech", "transcribe", "--model", model, self.shared_path(self.valid_rows[0][0]),
                          self.path("silent.wav"), code=1)
        self.assertEqual(p.stdout, "")
        for name, message in [("text.wav", "is not audio"), ("cut.wav", "is truncated"), ("mp3.wav", "libsndfile"),
                              ("silent.wav", "is silent"), ("short.wav", "shorter than one frame"),
                              ("missing.wav", "not a file")]:
            p = self.run_lstm("speech", "transcribe", "--model", model, self.path(name), code=1)
            self.assertIn(message, p.stderr, name)
            self.assertEqual(p.stdout, "")  # nothing printed for the files before it either

    def test_bad_transcripts(self):
        d = self.shared.name
        # a character the model has no label for, named with its line
        with open(self.path("odd.tsv"), "w") as f:
            f.write(f"{self.valid_rows[0][0]}\tdo re\n{self.valid_rows[1][0]}\tfa so\n")
        p = self.run_lstm("speech", "evaluate", "--model", self.shared_path("bi.safetensors"), "--audio", d,
                          "--transcripts", self.path("odd.tsv"), code=1)
        self.assertIn("line 2", p.stderr)
        self.assertIn("'f' is not among the model's labels", p.stderr)
        # a transcript longer than its recording can carry: named, with the fix; no model written
        short = self.valid_rows[0][0]
        with open(self.path("long.tsv"), "w") as f:
            f.write(f"{short}\t{' '.join(['do re mi'] * 30)}\n")
        out = self.path("m.safetensors")
        p = self.run_lstm("speech", "train", "--audio", d, "--transcripts", self.path("long.tsv"), "--out", out,
                          "--sample-rate", RATE, "--epochs", 1, code=1)
        self.assertIn("needs at least", p.stderr)
        self.assertIn("--stack", p.stderr)
        self.assertFalse(os.path.exists(out))
        with open(self.path("tabs.tsv"), "w") as f:
            f.write("a.wav do re\n")
        p = self.run_lstm("speech", "train", "--audio", d, "--transcripts", self.path("tabs.tsv"), "--out", out, code=1)
        self.assertIn("line 1: expected path<TAB>text", p.stderr)
        self.assertFalse(os.path.exists(out))
        p = self.run_lstm("speech", "transcribe", "--model", self.shared_path("report.html"), "x.wav", code=1)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
