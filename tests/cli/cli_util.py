"""What the CLI tests share: the binary, a temporary folder per test, running lstm with an
expected exit code (ctest sets LSTM_BIN to build/bin/lstm), reading safetensors files, and the
resume-after-SIGKILL check."""
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LSTM = os.environ.get("LSTM_BIN", os.path.join(HERE, "../../build/bin/lstm"))


def safetensors_parts(path):
    """(header without __metadata__, metadata, the data section's bytes) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    return header, meta, data[8 + n:]


def tensor_bytes(path):
    """name -> the raw bytes of every tensor, and the metadata."""
    header, meta, body = safetensors_parts(path)
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items()}, meta


def tensor_arrays(path):
    """name -> every tensor as a numpy array of its shape, and the metadata."""
    import numpy as np
    header, meta, body = safetensors_parts(path)
    dtypes = {"F32": "<f4", "F64": "<f8"}
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]],
                             dtype=dtypes[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items()}, meta


def screenshot(page, png, profile, size="1000,1300"):
    """Renders an HTML file in headless Chromium into png and returns the set of its pixels' RGB
    colours (the pages' charts are checked by the colours they must put on screen)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise AssertionError("chromium is needed to check the pages (scripts/install-deps.sh test)")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={size}",
                    f"--screenshot={png}", "file://" + os.path.abspath(page)],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image
    return set(Image.open(png).convert("RGB").getdata())


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_lstm(self, *args, code=0):
        p = subprocess.run([LSTM, *map(str, args)], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, code,
                         f"lstm {' '.join(map(str, args))}\nstdout: {p.stdout[-3000:]}\nstderr: {p.stderr}")
        return p

    def check_resume_after_sigkill(self, *train_args, kill_after_epochs=3):
        """`lstm train *train_args` straight through, then again killed with SIGKILL once its
        checkpoint holds kill_after_epochs epochs and resumed: the same weights (bytes) and
        history, and no model file written by the killed run."""
        args = [*map(str, train_args)]
        self.run_lstm(*args, "--out", self.path("straight.safetensors"))
        ckpt, resumed = self.path("ckpt.safetensors"), self.path("resumed.safetensors")
        p = subprocess.Popen([LSTM, *args, "--out", resumed, "--checkpoint", ckpt])
        done, deadline = 0, time.time() + 300
        while done < kill_after_epochs and p.poll() is None and time.time() < deadline:
            time.sleep(0.002)
            try:
                done = json.loads(tensor_bytes(ckpt)[1]["lstm.train_state"])["epochs_done"]
            except (OSError, KeyError, ValueError, struct.error):
                pass  # not written yet, or being renamed into place
        p.send_signal(signal.SIGKILL)
        self.assertEqual(p.wait(), -signal.SIGKILL, "training ended before it could be killed")
        self.assertFalse(os.path.exists(resumed))
        self.run_lstm(*args, "--out", resumed, "--checkpoint", ckpt, "--resume")
        a, meta_a = tensor_bytes(self.path("straight.safetensors"))
        b, meta_b = tensor_bytes(resumed)
        self.assertEqual(a.keys(), b.keys())
        for name in a:
            self.assertEqual(a[name], b[name], f"{name} differs after resuming")
        self.assertEqual(json.loads(meta_a["lstm.history"]), json.loads(meta_b["lstm.history"]))
