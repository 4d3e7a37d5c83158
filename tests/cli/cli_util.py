"""What the CLI tests share: the binary, a temporary folder per test, and running lstm with an
expected exit code (ctest sets LSTM_BIN to build/bin/lstm)."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LSTM = os.environ.get("LSTM_BIN", os.path.join(HERE, "../../build/bin/lstm"))


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
