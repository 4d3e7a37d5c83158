"""Melody models on the command line: lstm music train on MIDI files this test writes itself
(held-out bits per token, the grid in the model file, piano rolls in the report), music generate
(a playable MIDI file of the bars asked for; the same seed, the same file), and the bad inputs of
issue 14, each a clear error with exit 1 and nothing written.
Run with /usr/bin/python3 -m unittest test_music_cli (ctest sets LSTM_BIN)."""
import json
import os
import re
import struct
import unittest

from cli_util import CliTest, safetensors_parts


def vlq(v):
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    return bytes(reversed(out))


def midi_file(notes, tpq=480, fmt=1, channel=0):
    """A Standard MIDI File of (start, duration, pitch) notes in ticks, written by hand: format 1
    has a tempo track and a note track, format 0 one track."""
    events = []
    for start, duration, pitch in notes:
        events.append((start, 1, bytes([0x90 | channel, pitch, 90])))
        events.append((start + duration, 0, bytes([0x80 | channel, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    body, tick = b"", 0
    for at, _, data in events:
        body += vlq(at - tick) + data
        tick = at
    body += b"\x00\xff\x2f\x00"
    tempo = b"\x00\xff\x51\x03\x07\xa1\x20"  # 500000 us: 120 bpm
    chunk = lambda data: b"MTrk" + struct.pack(">I", len(data)) + data
    if fmt == 0:
        return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + chunk(tempo + body)
    return b"MThd" + struct.pack(">IHHH", 6, 1, 2, tpq) + chunk(tempo + b"\x00\xff\x2f\x00") + chunk(body)


def read_notes(path):
    """(start, pitch) of every Note On with velocity > 0, and the header's format and ticks per
    quarter: enough to check what lstm music generate wrote, independently of its reader."""
    data = open(path, "rb").read()
    assert data[:4] == b"MThd"
    fmt, ntracks, tpq = struct.unpack(">HHH", data[8:14])
    at, notes = 14, []
    for _ in range(ntracks):
        assert data[at:at + 4] == b"MTrk"
        (length,) = struct.unpack(">I", data[at + 4:at + 8])
        k, end, tick, status = at + 8, at + 8 + length, 0, 0
        while k < end:
            delta = 0
            while True:
                b = data[k]
                k += 1
                delta = (delta << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            tick += delta
            if data[k] == 0xFF:
                n = data[k + 2]  # the lengths written here fit in one byte
                k += 3 + n
            elif data[k] & 0x80:
                status = data[k]
                size = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
                if status & 0xF0 == 0x90 and data[k + 2] > 0:
                    notes.append((tick, data[k + 1]))
                k += 1 + size
            else:
                raise AssertionError("running status: not written by lstm")
        at = end
    return fmt, tpq, notes


class MusicCli(CliTest):
    def setUp(self):
        super().setUp()
        # a melody with a cycle: C major up and down in eighth notes, and a bass note each bar
        scale = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 55]
        os.makedirs(self.path("songs/more"))
        for name, shift in (("a.mid", 0), ("b.MID", 0), ("more/c.midi", 0)):
            notes = [(k * 240, 240, scale[k % 16] + shift) for k in range(160)]
            notes += [(k * 1920, 1920, 48) for k in range(20)]
            with open(self.path("songs/" + name), "wb") as f:
                f.write(midi_file(notes, fmt=0 if name == "b.MID" else 1))
        with open(self.path("songs/readme.txt"), "w") as f:
            f.write("not MIDI, and not read: only .mid and .midi files are")

    def train(self, *extra, epochs=150, code=0):
        return self.run_lstm("music", "train", "--midi", self.path("songs"), "--out", self.path("m.safetensors"),
                             "--units", 32, "--embedding", 16, "--lookback", 40, "--epochs", epochs, "--lr", 0.01,
                             *extra, code=code)

    def test_train_and_generate(self):
        out = self.train("--report", self.path("m.html")).stdout
        self.assertIn("3 pieces, 540 notes", out)
        bits = float(re.search(r"held-out: ([0-9.]+) bits per token, perplexity ([0-9.]+)", out).group(1))
        self.assertLess(bits, 1.5, out)  # log2(178) = 7.5 bits for a guess
        _, meta, _ = safetensors_parts(self.path("m.safetensors"))
        music = json.loads(meta["lstm.music"])
        self.assertEqual(music["steps_per_quarter"], 4)
        self.assertEqual(music["tempo"], 500000)
        self.assertEqual([music["numerator"], music["denominator"]], [4, 4])
        html = open(self.path("m.html"), encoding="utf-8").read()
        self.assertIn("Melody model", html)
        self.assertIn('id="roll-0"', html)  # the training data's piano roll
        self.assertIn('id="roll-1"', html)  # and a generated piece's
        self.assertIn('class="note"', html)

        def generate(seed, *extra, bars=4, bpm=120):
            name = self.path(f"g{seed}{len(extra)}.mid")
            p = self.run_lstm("music", "generate", "--model", self.path("m.safetensors"), "--bars", bars,
                              "--seed", seed, "--out", name, *extra)
            self.assertRegex(p.stdout, rf"\d+ notes in {bars} bars at {bpm} bpm \(4/4\)")
            return name
        a, b, c = generate(1), generate(1, "--temperature", 1), generate(2, "--temperature", 3)
        read = lambda name: open(name, "rb").read()
        self.assertEqual(read(a), read(b))  # the same seed, the same file
        self.assertNotEqual(read(a), read(c))
        fmt, tpq, notes = read_notes(a)
        self.assertEqual((fmt, tpq), (1, 480))
        self.assertGreater(len(notes), 8)
        self.assertTrue(all(t < 4 * 1920 for t, _ in notes), notes)  # four bars of 1,920 ticks
        fmt, _, _ = read_notes(generate(3, "--format", 0, "--tempo", 90, "--report", self.path("g.html"), bpm=90))
        self.assertEqual(fmt, 0)
        self.assertIn('id="roll-0"', open(self.path("g.html"), encoding="utf-8").read())
        # the most likely continuation is the scale: its notes a step of the scale apart
        _, _, greedy = read_notes(generate(4, "--temperature", 0, bars=2))
        melody = [p for _, p in greedy if p > 50]
        self.assertGreaterEqual(len(melody), 12, greedy)

    def test_melody_only(self):
        out = self.train("--melody-only", "--quiet", epochs=1).stdout
        self.assertIn("held-out:", out)
        self.assertTrue(json.loads(safetensors_parts(self.path("m.safetensors"))[1]["lstm.music"])["melody_only"])

    def test_bad_input(self):
        def fails(args, needle, code=1):
            p = self.run_lstm(*args, code=code)
            self.assertIn(needle, p.stderr)
            return p
        out = self.path("x.safetensors")
        fails(["music", "train", "--midi", self.path("missing.mid"), "--out", out], "missing.mid does not exist")
        open(self.path("empty.mid"), "wb").close()
        fails(["music", "train", "--midi", self.path("empty.mid"), "--out", out], "empty.mid is empty")
        with open(self.path("songs/a.mid"), "rb") as f:
            good = f.read()
        with open(self.path("cut.mid"), "wb") as f:
            f.write(good[:len(good) // 2])
        fails(["music", "train", "--midi", self.path("cut.mid"), "--out", out], "cut.mid is truncated")
        with open(self.path("text.mid"), "wb") as f:
            f.write(b"this is not a MIDI file at all")
        fails(["music", "train", "--midi", self.path("text.mid"), "--out", out], "is not a MIDI file")
        with open(self.path("silent.mid"), "wb") as f:
            f.write(midi_file([]))
        fails(["music", "train", "--midi", self.path("silent.mid"), "--out", out], "silent.mid has no notes")
        with open(self.path("drums.mid"), "wb") as f:
            f.write(midi_file([(0, 120, 36), (480, 120, 38)], channel=9))
        fails(["music", "train", "--midi", self.path("drums.mid"), "--out", out], "percussion")
        os.makedirs(self.path("none"))
        fails(["music", "train", "--midi", self.path("none"), "--out", out], "holds no .mid or .midi file")
        os.makedirs(self.path("silent"))
        os.rename(self.path("silent.mid"), self.path("silent/s.mid"))
        p = fails(["music", "train", "--midi", self.path("silent"), "--out", out], "none of the MIDI files has notes")
        self.assertIn("warning: ", p.stderr)
        fails(["music", "train", "--midi", self.path("songs/a.mid"), "--out", out, "--lookback", 100000],
              "smaller --lookback")
        fails(["music", "train", "--midi", self.path("songs"), "--out", out, "--steps-per-quarter", 0],
              "--steps-per-quarter", code=2)
        fails(["music", "train", "--midi", self.path("songs"), "--out", out, "--validation", 0.5],
              "--validation must be in [0, 0.5)", code=2)
        self.assertFalse(any(n.startswith("x.safetensors") for n in os.listdir(self.dir)))
        self.train("--quiet", epochs=1)
        g = self.path("g.mid")
        fails(["music", "generate", "--model", self.path("m.safetensors"), "--out", g, "--bars", 0], "--bars", code=2)
        fails(["music", "generate", "--model", self.path("m.safetensors"), "--out", g, "--temperature", -1],
              "temperature")
        fails(["music", "generate", "--model", self.path("songs/a.mid"), "--out", g], "a.mid")
        self.run_lstm("text", "train", "--text", self.path("songs/readme.txt"), "--out", self.path("lm.safetensors"),
                      "--lookback", 10, "--units", 8, "--quiet")
        fails(["music", "generate", "--model", self.path("lm.safetensors"), "--out", g], "not a music model")
        self.assertFalse(os.path.exists(g))


if __name__ == "__main__":
    unittest.main()
