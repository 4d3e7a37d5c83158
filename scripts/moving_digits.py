#!/usr/bin/python3
"""Moving digits: video clips of handwritten digits in motion, in the manner of Moving MNIST
(Srivastava et al. 2015), for `lstm video` (docs/video.md).

    /usr/bin/python3 scripts/moving_digits.py OUTDIR [--train 700] [--test 210] [--frames 10]
                                             [--size 32] [--encode N] [--seed 1]

The digits are the 1,797 8x8 images of scikit-learn's digits (the UCI "optical recognition of
handwritten digits" test set, CC BY 4.0), read from Debian's python3-sklearn package at run time
(scripts/install-deps.sh video installs it) and drawn twice as large, 16x16, on black frames of
--size pixels. Clips of digits 0..1199 go to training, of 1200..1796 to test: the test clips show
digits the models never saw.

Activities (the labels of `lstm video train`), one motion per clip, at a random speed and start:
    left, right, up, down   the digit slides across the frame
    bouncing                diagonal, reflected at the walls
    rotating                turns in place, clockwise or counterclockwise
    zooming                 grows or shrinks in place

Writes
    OUTDIR/train/clip_00000.npy ...    float32 [T, size, size, 1] in [0, 1], one clip per file
    OUTDIR/train/labels.csv            file,label (the activity)
    OUTDIR/test/...                    the same for the held-out digits
    OUTDIR/videos/*.mp4 + labels.csv   the first --encode test clips (default 21) encoded by
                                       FFmpeg (H.264, 10 frames/s), to read through the file path
    OUTDIR/bouncing.npy                [N, T, size, size, 1]: two digits bouncing each (the Moving
                                       MNIST set proper), for next-frame prediction; N = --train
    OUTDIR/bouncing_test.npy           the same from the held-out digits; N = --test
"""
import argparse
import csv
import gzip
import math
import os
import shutil
import subprocess
import sys

import numpy as np

DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
ACTIVITIES = ["left", "right", "up", "down", "bouncing", "rotating", "zooming"]
TRAIN_DIGITS = 1200


def load_digits():
    if not os.path.exists(DIGITS):
        sys.exit("moving_digits.py: %s is missing: install Debian's python3-sklearn "
                 "(scripts/install-deps.sh video)" % DIGITS)
    with gzip.open(DIGITS, "rt") as f:
        rows = np.loadtxt(f, delimiter=",")
    images = rows[:, :64].reshape(-1, 8, 8) / 16.0
    return np.kron(images, np.ones((2, 2))).astype(np.float32)  # 16x16, nearest


def sample(img, y, x):
    """Bilinear lookup of img at float coordinates (arrays), zero outside."""
    h, w = img.shape
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    out = np.zeros_like(y, dtype=np.float32)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            out += np.where(ok, img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0) * wy * wx
    return out


def place(frame, img, top, left, angle=0.0, scale=1.0):
    """Draws img centred at (top + 8, left + 8), turned by angle and scaled, adding (max) into frame."""
    S = frame.shape[0]
    cy, cx = top + 7.5, left + 7.5
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    dy, dx = (yy - cy) / scale, (xx - cx) / scale
    c, s = math.cos(angle), math.sin(angle)
    sy, sx = c * dy - s * dx + 7.5, s * dy + c * dx + 7.5
    np.maximum(frame, sample(img, sy, sx), out=frame)


def activity_clip(img, activity, T, S, rng):
    frames = np.zeros((T, S, S), np.float32)
    room = S - 16
    speed = rng.uniform(1.0, 2.0) * room / max(T - 1, 1) / 1.5
    if activity in ("left", "right", "up", "down"):
        across = rng.uniform(0, room)
        start = rng.uniform(0, room - speed * (T - 1)) if room > speed * (T - 1) else 0.0
        for t in range(T):
            p = start + speed * t
            p = p if activity in ("right", "down") else room - p
            top, left = (across, p) if activity in ("left", "right") else (p, across)
            place(frames[t], img, top, left)
    elif activity == "bouncing":
        bounce(frames, [img], rng)
    elif activity == "rotating":
        top, left = rng.uniform(2, room - 2, 2)
        turn = rng.choice([-1, 1]) * rng.uniform(0.25, 0.45)
        a0 = rng.uniform(0, 2 * math.pi)
        for t in range(T):
            place(frames[t], img, top, left, angle=a0 + turn * t)
    else:  # zooming
        top, left = rng.uniform(4, room - 4, 2)
        grow = rng.choice([True, False])
        for t in range(T):
            k = t / max(T - 1, 1)
            place(frames[t], img, top, left, scale=0.6 + 0.8 * (k if grow else 1 - k))
    return frames


def bounce(frames, imgs, rng):
    """Digits moving in straight lines, reflected at the walls (Moving MNIST)."""
    T, S = frames.shape[0], frames.shape[1]
    room = S - 16
    for img in imgs:
        pos = rng.uniform(0, room, 2)
        angle = rng.uniform(0, 2 * math.pi)
        vel = np.array([math.sin(angle), math.cos(angle)]) * rng.uniform(1.5, 3.0) * S / 32
        for t in range(T):
            place(frames[t], img, pos[0], pos[1])
            pos = pos + vel
            for a in range(2):
                if pos[a] < 0:
                    pos[a], vel[a] = -pos[a], -vel[a]
                if pos[a] > room:
                    pos[a], vel[a] = 2 * room - pos[a], -vel[a]


def write_split(outdir, digits, count, T, S, rng):
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for k in range(count):
        activity = ACTIVITIES[k % len(ACTIVITIES)]
        img = digits[rng.integers(len(digits))]
        clip = activity_clip(img, activity, T, S, rng)
        name = "clip_%05d.npy" % k
        np.save(os.path.join(outdir, name), clip[..., None])
        rows.append((name, activity))
    with open(os.path.join(outdir, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label"])
        w.writerows(rows)
    return rows


def encode(outdir, clip_dir, rows, count):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        sys.exit("moving_digits.py: ffmpeg is missing (scripts/install-deps.sh video installs it)")
    os.makedirs(outdir, exist_ok=True)
    out_rows = []
    for name, label in rows[:count]:
        clip = np.load(os.path.join(clip_dir, name))
        T, S = clip.shape[0], clip.shape[1]
        video = name.replace(".npy", ".mp4")
        raw = (np.clip(clip[..., 0], 0, 1) * 255 + 0.5).astype(np.uint8).tobytes()
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
                        "-s", "%dx%d" % (S, S), "-r", "10", "-i", "-", "-c:v", "libx264", "-crf", "12",
                        "-pix_fmt", "yuv420p", os.path.join(outdir, video)], input=raw, check=True)
        out_rows.append((video, label))
    with open(os.path.join(outdir, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label"])
        w.writerows(out_rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir")
    p.add_argument("--train", type=int, default=700)
    p.add_argument("--test", type=int, default=210)
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--encode", type=int, default=21)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.size < 20 or a.size > 256 or a.frames < 2 or a.frames > 1000 or a.train < 1 or a.test < 1:
        sys.exit("moving_digits.py: --size must be in 20..256, --frames in 2..1000, --train and --test >= 1")
    rng = np.random.default_rng(a.seed)
    digits = load_digits()
    train, test = digits[:TRAIN_DIGITS], digits[TRAIN_DIGITS:]
    write_split(os.path.join(a.outdir, "train"), train, a.train, a.frames, a.size, rng)
    rows = write_split(os.path.join(a.outdir, "test"), test, a.test, a.frames, a.size, rng)
    if a.encode > 0:
        encode(os.path.join(a.outdir, "videos"), os.path.join(a.outdir, "test"), rows, a.encode)
    for name, pool, n in (("bouncing.npy", train, a.train), ("bouncing_test.npy", test, a.test)):
        seqs = np.zeros((n, a.frames, a.size, a.size, 1), np.float32)
        for k in range(n):
            frames = np.zeros((a.frames, a.size, a.size), np.float32)
            bounce(frames, [pool[rng.integers(len(pool))] for _ in range(2)], rng)
            seqs[k, ..., 0] = frames
        np.save(os.path.join(a.outdir, name), seqs)
    print("moving_digits.py: %d training and %d test clips of %d frames of %dx%d in %s (activities: %s)"
          % (a.train, a.test, a.frames, a.size, a.size, a.outdir, ", ".join(ACTIVITIES)))


if __name__ == "__main__":
    main()
