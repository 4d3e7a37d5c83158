"""Data-parallel fit on MPI (lstm/distributed.h), on loopback: 1, 2 and 3 ranks against one
process, determinism, resume after every rank was killed (on the same and on another number of
ranks), and a failing rank ending the job.

    /usr/bin/python3 tests/mpi/test_mpi.py build/bin/fit_ranks MPIEXEC build/bin/lstm
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

FIT = sys.argv[1] if len(sys.argv) > 1 else "build/bin/fit_ranks"
MPIEXEC = sys.argv[2] if len(sys.argv) > 2 else "mpirun"
LSTM = sys.argv[3] if len(sys.argv) > 3 else "build/bin/lstm"
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# as root (CI) Open MPI needs to be told; 3 ranks on 2 cores need --oversubscribe
MPI_FLAGS = ["--oversubscribe", "--bind-to", "none"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
ENV = dict(os.environ, LSTM_NUM_THREADS="1", OMPI_MCA_btl="self,vader,tcp", OMPI_MCA_rmaps_base_oversubscribe="1")


def run(out, ranks=None, *args, check=True):
    cmd = ([MPIEXEC, "-np", str(ranks)] + MPI_FLAGS if ranks else []) + [FIT, out] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


class DataParallel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.alone = cls.weights("alone", None)

    @classmethod
    def weights(cls, name, ranks, *args):
        out = os.path.join(cls.dir, name + ".npy")
        run(out, ranks, *args)
        return np.load(out)

    def test_one_rank_is_the_single_process_run_bit_for_bit(self):
        self.assertTrue(np.array_equal(self.weights("np1", 1), self.alone))

    def test_two_and_three_ranks_give_the_single_process_weights_up_to_rounding(self):
        for n in (2, 3):
            w = self.weights("np%d" % n, n)
            self.assertFalse(np.array_equal(w, self.alone))  # the sums run in another order
            # 3 epochs x 4 batches of Adam at lr 0.01: rounding (measured: at most 4e-7), not another run
            np.testing.assert_allclose(w, self.alone, rtol=0, atol=1e-5, err_msg="%d ranks" % n)
            again = self.weights("np%d_again" % n, n)
            self.assertTrue(np.array_equal(w, again), "the same ranks give the same bits")

    def test_the_logs_are_reduced_so_every_rank_decides_alike(self):
        """Every log, validation included (each rank runs every N-th validation batch), is the
        single process's: the metrics' running sums are added over the ranks, not their results,
        so RMSE (a root of a mean) and AUC (a ranking of all predictions) come out the same."""
        def logs(name, ranks, *args):
            words = run(os.path.join(self.dir, name), ranks, *args).stdout.split("\n")[0].split()[2:]
            return {k: float(v) for k, v in zip(words[::2], words[1::2])}
        for args, keys in (((), ("loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse")),
                           (("--binary",), ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"))):
            one = logs("l1.npy", None, *args)
            self.assertEqual(sorted(one), sorted(keys))
            for n in (2, 3):
                many = logs("l%d.npy" % n, n, *args)
                self.assertEqual(sorted(many), sorted(keys))
                for key in keys:
                    # the weights differ by rounding (< 1e-6); a metric averaged over ranks
                    # instead (the RMSE of each rank's rows, one AUC per rank) is off by far more
                    self.assertAlmostEqual(one[key], many[key], delta=2e-6 * max(1.0, abs(one[key])),
                                           msg="%s on %d ranks %s" % (key, n, args))

    def test_each_rank_reads_its_share_of_a_mapped_file(self):
        """X mapped (lstm::map_npy, what `lstm train --x` does under mpirun): one process touches
        every row; each of 2 ranks only the rows it trains on (half of each batch), its
        validation batches and its half of the checks - measured as the resident size of its
        mapping (rows of 160 kB, so the kernel's fault-around of 64 kB adds little)."""
        rng = np.random.default_rng(3)
        x = rng.standard_normal((64, 40, 1024)).astype(np.float32)
        y = x[:, :, :4].mean(axis=(1, 2))[:, None].astype(np.float32)
        xp, yp = os.path.join(self.dir, "mapped_x.npy"), os.path.join(self.dir, "mapped_y.npy")
        np.save(xp, x), np.save(yp, y)
        size_kb = x.nbytes / 1024

        def held(ranks, name):
            # out of the page cache first, as a file no one has read yet: pages are then read as
            # they are touched (with the kernel's read-around), so a rank's resident size is what
            # it read (from a warm cache, the kernel would map whole large folios at once)
            fd = os.open(xp, os.O_RDONLY)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
            r = run(os.path.join(self.dir, name), ranks, "--x-file", xp, "--y-file", yp, "--epochs", "1", "--batch", "8")
            kb = [int(l.split()[3]) for l in r.stderr.splitlines() if " holds " in l]
            self.assertEqual(len(kb), ranks or 1, r.stderr)
            return kb
        self.assertGreater(held(None, "mapped1.npy")[0], 0.97 * size_kb)  # one process: all of it
        for kb in held(2, "mapped2.npy"):
            print("a rank of 2 read %.0f%% of X" % (100 * kb / size_kb), file=sys.stderr)
            self.assertLess(kb, 0.9 * size_kb)  # measured: about 0.8 (its half of the checks, a half of the rest)
            self.assertGreater(kb, 0.4 * size_kb)
        # 1024 inputs per step: gradients summed in another order differ by more rounding
        np.testing.assert_allclose(np.load(os.path.join(self.dir, "mapped2.npy")),
                                   np.load(os.path.join(self.dir, "mapped1.npy")), rtol=0, atol=1e-4)

    def test_batches_smaller_than_the_job(self):
        """Batches of 2 on 3 ranks: rank 0 gets no rows at all; the results are still one process's."""
        one = run(os.path.join(self.dir, "b2-1.npy"), None, "--batch", "2", "--epochs", "1").stdout.split()
        three = run(os.path.join(self.dir, "b2-3.npy"), 3, "--batch", "2", "--epochs", "1").stdout.split()
        for key in ("loss", "mae", "val_loss"):
            a, b = float(one[one.index(key) + 1]), float(three[three.index(key) + 1])
            self.assertAlmostEqual(a, b, delta=1e-5 * max(1.0, abs(a)), msg=key)
        np.testing.assert_allclose(np.load(os.path.join(self.dir, "b2-3.npy")),
                                   np.load(os.path.join(self.dir, "b2-1.npy")), rtol=0, atol=1e-5)

    def test_resume_after_every_rank_was_killed(self):
        for n, resumed_on in ((2, 2), (2, 3)):
            ckpt = os.path.join(self.dir, "ckpt-%d-%d.safetensors" % (n, resumed_on))
            out = os.path.join(self.dir, "killed.npy")
            r = run(out, n, "--checkpoint", ckpt, "--die-at", "6", check=False)  # epoch 2, batch 2
            self.assertNotEqual(r.returncode, 0)
            self.assertTrue(os.path.exists(ckpt), "rank 0 wrote the first epoch's checkpoint")
            resumed = self.weights("resumed-%d-%d" % (n, resumed_on), resumed_on, "--checkpoint", ckpt, "--resume")
            straight = self.weights("straight-%d" % resumed_on, resumed_on)
            if resumed_on == n:
                self.assertTrue(np.array_equal(resumed, straight), "resumed on %d ranks" % n)
            else:
                np.testing.assert_allclose(resumed, self.alone, rtol=0, atol=1e-5)

    def test_a_checkpoint_only_one_rank_sees_is_refused_on_every_rank(self):
        ckpt = os.path.join(self.dir, "local.safetensors")
        self.weights("local-first", 2, "--checkpoint", ckpt, "--epochs", "1")
        r = run(os.path.join(self.dir, "local.npy"), 2, "--checkpoint", ckpt, "--resume",
                "--checkpoint-on-rank-0-only", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("1 of 2 ranks can resume from the checkpoint", r.stderr)

    def test_a_stop_on_one_rank_stops_every_rank_after_that_batch(self):
        out = os.path.join(self.dir, "stopped.npy")
        r = run(out, 3, "--stop-rank", "2", "--stop-at", "6")  # batch 2 of epoch 2: no hang
        self.assertIn("epochs 1", r.stdout)  # the stopped epoch is not logged
        # the same 6 updates as one process stopped there
        alone = run(os.path.join(self.dir, "stopped-alone.npy"), None, "--stop-rank", "0", "--stop-at", "6")
        self.assertIn("epochs 1", alone.stdout)
        np.testing.assert_allclose(np.load(out), np.load(os.path.join(self.dir, "stopped-alone.npy")), rtol=0, atol=1e-5)

    def test_a_failing_rank_ends_the_job_with_its_message(self):
        start = time.time()
        r = run(os.path.join(self.dir, "fail.npy"), 3, "--bad-data-on-rank", "1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("fit_ranks (rank 1)", r.stderr)
        self.assertIn("features", r.stderr)  # the library's message: the shape that is wrong
        self.assertLess(time.time() - start, 60)
        # a rank that built another model: refused on every rank before any all-reduce (over
        # gradient buffers of different sizes it would corrupt memory)
        r = run(os.path.join(self.dir, "other.npy"), 2, "--other-model-on-rank", "1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("1 of 2 ranks can train what rank 0 trains (2025 parameters", r.stderr)
        self.assertNotIn("corruption", r.stderr)

    def test_lstm_train_on_arrays_under_mpirun(self):
        """`lstm train --x --y` on 2 ranks maps the arrays (each rank reads its share) and logs what
        one process logs."""
        rng = np.random.default_rng(0)
        x = rng.standard_normal((200, 10, 3)).astype(np.float32)
        np.save(os.path.join(self.dir, "ax.npy"), x)
        np.save(os.path.join(self.dir, "ay.npy"), x.mean(axis=(1, 2))[:, None].astype(np.float32))
        with open(os.path.join(self.dir, "a.json"), "w") as f:
            f.write('{"layers": [{"type": "lstm", "units": 8}, {"type": "dense", "units": 1}]}')
        losses = {}
        for n in (None, 2):
            cmd = ([MPIEXEC, "-np", str(n)] + MPI_FLAGS if n else []) + [
                LSTM, "train", "--config", os.path.join(self.dir, "a.json"), "--x", os.path.join(self.dir, "ax.npy"),
                "--y", os.path.join(self.dir, "ay.npy"), "--epochs", "2", "--validation-split", "0.25",
                "--out", os.path.join(self.dir, "a%s.safetensors" % n)]
            r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            last = [l for l in r.stdout.splitlines() if l.startswith("Epoch 2/2")]
            self.assertEqual(len(last), 1, r.stdout)
            losses[n] = [float(w) for w in last[0].replace(",", " ").split() if w[0].isdigit() and "." in w and not w.endswith("s")]
        np.testing.assert_allclose(losses[2], losses[None], rtol=1e-5)

    def test_lstm_train_under_mpirun(self):
        """The forecasting job of the CLI on 2 ranks: rank 0 alone prints and saves; the model
        predicts as the single-process one up to rounding."""
        args = ["train", "--csv", os.path.join(SOURCE, "data/seattle-weather.csv"), "--target", "temp_max",
                "--lookback", "10", "--units", "8", "--epochs", "2", "--transform", "level",
                "--validation-split", "0.2", "--batch-size", "64"]
        outs = {}
        for n in (None, 2):
            out = os.path.join(self.dir, "cli-%s.safetensors" % n)
            cmd = ([MPIEXEC, "-np", str(n)] + MPI_FLAGS if n else []) + [LSTM] + args + ["--out", out]
            r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stdout.count("saved "), 1, r.stdout)  # rank 0's lines only
            outs[n] = r.stdout
        one = [line for line in outs[None].splitlines() if line.startswith("model ")]
        two = [line for line in outs[2].splitlines() if line.startswith("model ")]
        self.assertTrue(one and two)
        rmse = lambda line: float(line.split()[1])  # noqa: E731
        self.assertAlmostEqual(rmse(one[0]), rmse(two[0]), delta=1e-3)
        bad = subprocess.run([MPIEXEC, "-np", "2"] + MPI_FLAGS + [LSTM, "train", "--csv", "nope.csv", "--target", "x",
                                                                  "--out", os.path.join(self.dir, "x.safetensors")],
                             capture_output=True, text=True, env=ENV, timeout=120)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("nope.csv", bad.stderr)

    def test_dropout_runs_on_every_rank(self):
        w = self.weights("dropout", 2, "--dropout")
        self.assertTrue(np.isfinite(w).all())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
