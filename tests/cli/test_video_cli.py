"""Activity recognition on the command line: scripts/moving_digits.py makes labelled clips (.npy
frames and H.264 videos encoded by FFmpeg), lstm video train learns them (held-out accuracy and
confusion matrix, a report), lstm video classify labels video files through the FFmpeg path, one
row per clip or, with --stream, per window; and the bad inputs of issue 22 - unreadable, cut
short, without frames or video, of another frame size, a labels file naming missing clips, a
playlist pointing at other files - each a clear error, exit 1, nothing written.
Run with /usr/bin/python3 -m unittest test_video_cli (ctest sets LSTM_BIN)."""
import csv
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np

from cli_util import CliTest, safetensors_parts

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "../../scripts/moving_digits.py")
DATA = None  # made once for the module


def setUpModule():
    global DATA
    import tempfile
    DATA = tempfile.mkdtemp(prefix="lstm-video-")
    subprocess.run([sys.executable, GENERATOR, DATA, "--train", "140", "--test", "42", "--frames", "8",
                    "--size", "24", "--encode", "14"], check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(DATA, ignore_errors=True)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class VideoCli(CliTest):
    def train(self, *extra, out=None):
        out = out or self.path("m.safetensors")
        return self.run_lstm("video", "train", "--clips", os.path.join(DATA, "train"), "--out", out,
                             "--frames", 8, "--epochs", 2, "--filters", 4, "--quiet", *extra), out

    def test_generator_writes_every_activity_and_decodable_videos(self):
        labels = rows(os.path.join(DATA, "train", "labels.csv"))
        self.assertEqual(len(labels), 140)
        self.assertEqual(sorted({r["label"] for r in labels}),
                         ["bouncing", "down", "left", "right", "rotating", "up", "zooming"])
        clip = np.load(os.path.join(DATA, "train", labels[0]["file"]))
        self.assertEqual(clip.shape, (8, 24, 24, 1))
        self.assertGreater(clip.max(), 0.5)
        # a clip that moves: frames differ
        self.assertGreater(np.abs(clip[0] - clip[-1]).sum(), 1.0)
        self.assertEqual(np.load(os.path.join(DATA, "bouncing.npy")).shape, (140, 8, 24, 24, 1))
        self.assertEqual(len(os.listdir(os.path.join(DATA, "videos"))), 15)  # 14 clips and labels.csv

    def test_train_scores_held_out_clips_and_classify_reads_videos(self):
        p, model = self.train("--test-clips", os.path.join(DATA, "test"), "--report", self.path("r.html"))
        self.assertIn("accuracy", p.stdout)
        self.assertIn("confusion (rows: true, columns: predicted)", p.stdout)
        _, meta, _ = safetensors_parts(model)
        self.assertIn('"frames":8', meta["lstm.video"].replace(" ", ""))
        html = read(self.path("r.html"))
        self.assertIn("Video activity classifier", html)
        self.assertIn("ConvLSTM2D(4", html)
        # an example clip of every class as pictures: 7 rows of 8 frames
        self.assertIn("An example of each class (test clips)", html)
        self.assertEqual(html.count("data:image/bmp;base64,"), 7 * 8)
        videos = os.path.join(DATA, "videos")
        names = sorted(f for f in os.listdir(videos) if f.endswith(".mp4"))[:3]
        out = self.run_lstm("video", "classify", "--model", model, *[os.path.join(videos, n) for n in names]).stdout
        lines = list(csv.DictReader(out.splitlines()))
        self.assertEqual(len(lines), 3)
        labels = ["bouncing", "down", "left", "right", "rotating", "up", "zooming"]
        for line in lines:
            self.assertIn(line["label"], labels)
            probs = [float(line["p_" + l]) for l in labels]
            self.assertAlmostEqual(sum(probs), 1.0, places=4)
            self.assertEqual(line["label"], labels[int(np.argmax(probs))])
        # the decoded video against the frames it was encoded from: the same clip, so nearly the
        # same probabilities (H.264 at crf 12 changes a few grey levels)
        first = rows(os.path.join(videos, "labels.csv"))[0]["file"]
        npy = os.path.join(DATA, "test", first.replace(".mp4", ".npy"))
        both = self.run_lstm("video", "classify", "--model", model, os.path.join(videos, first), npy).stdout
        a, b = list(csv.DictReader(both.splitlines()))
        for l in labels:
            self.assertAlmostEqual(float(a["p_" + l]), float(b["p_" + l]), delta=0.05)

    def test_stream_labels_every_window_of_a_long_video(self):
        _, model = self.train()
        videos = os.path.join(DATA, "videos")
        listing = self.path("list.txt")
        with open(listing, "w") as f:
            for r in rows(os.path.join(videos, "labels.csv"))[:4]:
                f.write("file '%s'\n" % os.path.join(videos, r["file"]))
        long_video = self.path("long.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", listing,
                        "-c", "copy", long_video], check=True)
        out = self.run_lstm("video", "classify", "--model", model, "--stream", "--every", 4, long_video).stdout
        windows = list(csv.DictReader(out.splitlines()))
        self.assertEqual(len(windows), (32 - 8) // 4 + 1)  # 4 clips of 8 frames, windows of 8 every 4
        self.assertEqual([(int(w["first_frame"]), int(w["last_frame"])) for w in windows[:2]], [(0, 7), (4, 11)])
        self.run_lstm("video", "classify", "--model", model, "--stream", "--every", 4, long_video,
                      "--out", self.path("windows.csv"))
        self.assertEqual(read(self.path("windows.csv")), out)

    def test_predict_frames_trains_scores_against_copying_and_continues_clips(self):
        bouncing = os.path.join(DATA, "bouncing.npy")
        test = self.path("test.npy")
        np.save(test, np.load(os.path.join(DATA, "bouncing_test.npy"))[:12])
        model = self.path("frames.safetensors")
        p = self.run_lstm("video", "predict-frames", "--data", bouncing, "--test", test, "--out", model,
                          "--epochs", 2, "--filters", 4, "--report", self.path("f.html"), "--quiet")
        scores = {}
        for line in p.stdout.splitlines():
            parts = line.rsplit(None, 2)
            if len(parts) == 3 and parts[0].startswith(("one step", "from 4")):
                scores[parts[0].strip()] = (float(parts[1]), float(parts[2]))
        self.assertEqual(len(scores), 4, p.stdout)
        # copying the last frame, scored independently here
        t = np.load(test).astype(np.float64)
        copy_mse = ((t[:, 1:] - t[:, :-1]) ** 2).mean()
        self.assertAlmostEqual(scores["one step ahead: copy the last"][1], copy_mse, places=4)
        roll_copy = ((t[:, 4:] - t[:, 3:4]) ** 2).mean()
        self.assertAlmostEqual(scores["from 4 frames, 4 on: copy"][1], roll_copy, places=4)
        html = read(self.path("f.html"))
        self.assertIn("Rolled out from 4 frames: true (above) and predicted", html)
        self.assertEqual(html.count("data:image/bmp;base64,"), 3 * 2 * 8)
        # continue one clip of 5 frames by 3
        np.save(self.path("one.npy"), t[0, :5].astype(np.float32))
        out = self.path("next.npy")
        self.run_lstm("video", "predict-frames", "--model", model, "--input", self.path("one.npy"), "--steps", 3,
                      "--out", out)
        frames = np.load(out)
        self.assertEqual(frames.shape, (1, 3, 24, 24, 1))
        self.assertTrue(((frames >= 0) & (frames <= 1)).all())
        # bad inputs: frames of another size, values out of [0, 1], a classifier given as the model
        np.save(self.path("small.npy"), np.zeros((5, 16, 16, 1), np.float32))
        p = self.run_lstm("video", "predict-frames", "--model", model, "--input", self.path("small.npy"),
                          "--out", self.path("x.npy"), code=1)
        self.assertIn("but the model expects [N, T, 24, 24, 1]", p.stderr)
        np.save(self.path("bright.npy"), np.full((4, 5, 24, 24), 255.0, np.float32))
        p = self.run_lstm("video", "predict-frames", "--data", self.path("bright.npy"), "--out", self.path("y.safetensors"),
                          code=1)
        self.assertIn("frame values are in [0, 1]", p.stderr)
        self.run_lstm("video", "predict-frames", "--data", bouncing, "--model", model, "--out", self.path("z"), code=2)
        for name in ("x.npy", "y.safetensors", "z"):
            self.assertFalse(os.path.exists(self.path(name)))

    def test_image_folders_are_clips(self):
        clip = np.load(os.path.join(DATA, "train", "clip_00000.npy"))
        folder = self.path("clips")
        os.makedirs(os.path.join(folder, "walk"))
        from PIL import Image
        for t in range(8):
            Image.fromarray((clip[t, :, :, 0] * 255).round().astype(np.uint8)).save(
                os.path.join(folder, "walk", "frame_%02d.png" % t))
        shutil.copy(os.path.join(DATA, "train", "clip_00001.npy"), folder)
        with open(os.path.join(folder, "labels.csv"), "w") as f:
            f.write("file,label\nwalk,a\nclip_00001.npy,b\n")
        self.run_lstm("video", "train", "--clips", folder, "--out", self.path("f.safetensors"), "--frames", 8,
                      "--epochs", 1, "--filters", 2, "--validation-fraction", 0, "--quiet")

    def test_bad_inputs_are_clear_errors_and_write_nothing(self):
        _, model = self.train()
        videos = os.path.join(DATA, "videos")
        first = os.path.join(videos, rows(os.path.join(videos, "labels.csv"))[0]["file"])
        data = read(first, "rb")
        cut = self.path("cut.mp4")
        write(cut, data[:len(data) // 3])
        noise = self.path("noise.mp4")
        write(noise, bytes(range(256)) * 40)
        empty = self.path("empty.mp4")
        write(empty, b"")
        audio = self.path("audio.mp4")
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", audio],
                       check=True)
        np.save(self.path("none.npy"), np.zeros((0, 24, 24), np.float32))
        np.save(self.path("small.npy"), np.zeros((8, 16, 16), np.float32))
        # a concat playlist naming another file (FFmpeg's concat demuxer would read it): refused,
        # only media containers are read
        shutil.copy(first, self.path("inner.mp4"))
        playlist = self.path("list.mp4")
        write(playlist, "ffconcat version 1.0\nfile 'inner.mp4'\n")
        out = self.path("out.csv")
        for path, message in ((cut, "damaged or cut short"), (noise, "not a video"), (empty, "not a video"),
                              (audio, "no video stream"), (self.path("none.npy"), "has 0 frames"),
                              (self.path("small.npy"), "but the model takes frames [T, 24, 24, 1]"),
                              (playlist, "not a video"), (self.path("missing.mp4"), "no such file")):
            p = self.run_lstm("video", "classify", "--model", model, path, "--out", out, code=1)
            self.assertIn(message, p.stderr, path)
            self.assertFalse(os.path.exists(out))
        # labels naming a missing clip, a clip too short, a file without the columns
        clips = self.path("clips")
        os.makedirs(clips)
        shutil.copy(os.path.join(DATA, "train", "clip_00000.npy"), clips)
        np.save(os.path.join(clips, "short.npy"), np.zeros((3, 24, 24), np.float32))
        for text, message in (("file,label\nclip_00000.npy,a\nclip_00099.npy,b\n", "line 3 names clip_00099.npy"),
                              ("file,label\nclip_00000.npy,a\nshort.npy,b\n", "has 3 frames, fewer than the 8"),
                              ("name,label\nclip_00000.npy,a\n", "no column")):
            write(os.path.join(clips, "labels.csv"), text)
            p = self.run_lstm("video", "train", "--clips", clips, "--out", self.path("x.safetensors"), "--frames", 8,
                              code=1)
            self.assertIn(message, p.stderr)
            self.assertFalse(os.path.exists(self.path("x.safetensors")))
        self.run_lstm("video", "classify", "--model", os.path.join(DATA, "train", "labels.csv"), first, code=1)
        self.run_lstm("video", "train", "--clips", clips, "--out", self.path("x.safetensors"), "--channels", 2, code=2)


if __name__ == "__main__":
    unittest.main()
