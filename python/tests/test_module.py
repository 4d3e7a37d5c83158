"""Tests of the Python module (import lstm): the seed's example, equality with the C++ library,
no copies, Ctrl-C, errors, PyTorch parity, graphs, callbacks and the jobs.

Run by ctest (python.pytest) with PYTHONPATH=<build>/python, or by hand:
    PYTHONPATH=build/python LSTM_SEED_TWIN=build/bin/python_seed_twin /usr/bin/python3 -m pytest python/tests
"""
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import lstm
from lstm.layers import LSTM, Dense

SOURCE = pathlib.Path(os.environ.get("LSTM_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def windows(n=200, timesteps=30, features=1, seed=0):
    """y = the mean of the first feature over the window: learnable."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, timesteps, features)).astype(np.float32)
    return X, X[:, :, :1].mean(axis=1)


def seed_model(seed=42, timesteps=30, features=1):
    model = lstm.Sequential(seed=seed)
    model.add(LSTM(50, input_shape=(timesteps, features)))
    model.add(Dense(1))
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


def test_the_seeds_example_runs_line_for_line():
    from lstm.models import Sequential
    from lstm.layers import LSTM, Dense  # noqa: F811

    timesteps, features = 30, 1
    X_train, y_train = windows(256, timesteps, features)

    # Define the model
    model = Sequential()
    model.add(LSTM(50, input_shape=(timesteps, features)))  # 50 LSTM units
    model.add(Dense(1))  # Output layer

    # Compile the model
    model.compile(optimizer='adam', loss='mean_squared_error')

    # Fit the model
    history = model.fit(X_train, y_train, epochs=5, batch_size=32, verbose=0)

    assert list(history.history) == ["loss"] and history.epoch == [0, 1, 2, 3, 4]
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.history.history == history.history
    y_pred = model.predict(X_train)
    assert y_pred.shape == (256, 1) and y_pred.dtype == np.float32
    assert model.evaluate(X_train, y_train) == pytest.approx(float(np.mean((y_pred - y_train) ** 2)), rel=1e-4)
    assert model.count_params() == 10451


def test_the_python_quickstart_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(SOURCE / "examples/quickstart.py")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("Epoch 1/50"))
    assert lines[0] == 'Model: "sequential"' and first_epoch > 5  # the summary, then the epochs
    assert "test MSE" in r.stdout and (tmp_path / "quickstart.safetensors").exists()


def test_results_equal_the_cpp_librarys_bit_for_bit(tmp_path):
    twin = os.environ.get("LSTM_SEED_TWIN")
    if not twin:
        pytest.skip("LSTM_SEED_TWIN (the built python_seed_twin) is not set")
    X, y = windows(100, 12, 2, seed=3)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    subprocess.run([twin, tmp_path / "X.npy", tmp_path / "y.npy", "7", "3", tmp_path], check=True)
    model = lstm.Sequential(seed=7)
    model.add(LSTM(50, input_shape=(12, 2)))
    model.add(Dense(1))
    model.compile(optimizer=lstm.optimizers.Adam(), loss="mse")
    model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    flat = np.concatenate([w.ravel() for w in model.get_weights()])
    assert np.array_equal(flat, np.load(tmp_path / "weights.npy"))
    assert np.array_equal(model.predict(X), np.load(tmp_path / "pred.npy"))


def test_arrays_are_not_copied_when_they_need_not_be():
    X, y = windows(64)
    # float32 in C order: the library reads the array's own memory
    assert lstm._lstm._tensor_address(X) == X.ctypes.data
    assert lstm._lstm._tensor_address(X[8:16]) == X[8:16].ctypes.data  # a contiguous slice too
    # other dtypes and layouts are converted once
    wide = X.astype(np.float64)
    assert lstm._lstm._tensor_address(wide) != wide.ctypes.data
    strided = X[::2]
    assert lstm._lstm._tensor_address(strided) != strided.ctypes.data
    ro = X.copy()
    ro.flags.writeable = False
    assert lstm._lstm._tensor_address(ro) == ro.ctypes.data  # read-only is fine: inputs are read
    # results: the array owns the library's result (no copy out)
    model = seed_model()
    p = model.predict(X)
    assert not p.flags.owndata and p.base is not None and p.flags.c_contiguous
    # get_weights: one buffer, every array a view into it
    w = model.get_weights()
    assert all(a.base is w[0].base for a in w)
    assert w[1].ctypes.data == w[0].ctypes.data + w[0].nbytes
    # and a converted input gives the same numbers as the float32 one
    assert np.array_equal(model.predict(X.astype(np.float64)), p)
    assert np.array_equal(model.predict(np.asfortranarray(X)), p)


def test_the_gil_is_released_while_fit_computes():
    X, y = windows(2048, 30, 4)
    model = seed_model(features=4)
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    elapsed = time.perf_counter() - start
    stop.set()
    t.join()
    # with the GIL held by fit, the counting thread would not run at all
    assert ticks[0] > 1000, (ticks[0], elapsed)


CTRL_C = textwrap.dedent("""
    import os, signal, sys, threading, time
    import numpy as np
    import lstm
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 30, 4)).astype(np.float32)
    y = X[:, :, :1].mean(axis=1)
    model = lstm.Sequential()
    model.add(lstm.layers.LSTM(256, input_shape=(30, 4)))
    model.add(lstm.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    before = np.concatenate([w.ravel() for w in model.get_weights()])
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.perf_counter()
    try:
        model.fit(X, y, epochs=20, batch_size=32, verbose=0)
        print("NOT INTERRUPTED")
    except KeyboardInterrupt:
        took = time.perf_counter() - start
        after = np.concatenate([w.ravel() for w in model.get_weights()])
        assert np.isfinite(after).all() and not np.array_equal(before, after)
        assert model.history.history == {}, model.history.history  # mid-epoch: no epoch done
        assert model.predict(X[:4]).shape == (4, 1)  # the model is usable
        print("INTERRUPTED after %.2f s" % took)
""")


def test_ctrl_c_stops_fit_after_the_current_batch():
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", CTRL_C], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "INTERRUPTED after" in r.stdout, r.stdout + r.stderr
    took = float(r.stdout.split("after")[1].split()[0])
    # One epoch is 625 batches (about 11 s here): the script checked that no epoch was done
    # (model.history is empty), so fit stopped mid-epoch; stopping after a batch takes
    # milliseconds (0.52 s after the start, the signal at 0.5 s, on a quiet machine).
    assert took < 5.0, took


SIGNALS_DURING_FIT = textwrap.dedent("""
    import os, signal, threading
    import numpy as np
    import lstm
    X = np.random.default_rng(0).standard_normal((3000, 30, 4)).astype(np.float32)
    model = lstm.Sequential()
    model.add(lstm.layers.LSTM(256, input_shape=(30, 4)))
    model.add(lstm.layers.Dense(1))
    model.compile(optimizer="adam", loss="mse")
    seen = []
    signal.signal(signal.SIGINT, lambda *a: seen.append(1))  # handled, training goes on
    for k in range(10):
        threading.Timer(0.2 + 0.1 * k, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    model.fit(X, X[:, :, :1].mean(axis=1), epochs=1, batch_size=32, verbose=0)
    print("signals", len(seen))
""")


def test_signals_handled_during_fit_do_not_corrupt_it():
    """A Python signal handler runs on the thread inside oneDNN's sgemm; without the module's
    alternate signal stack this corrupted the heap every time (glibc aborted)."""
    r = subprocess.run([sys.executable, "-c", SIGNALS_DURING_FIT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.split()[-1]) > 0, r.stdout  # the handler ran during fit


def test_errors_are_python_exceptions_with_the_librarys_messages(tmp_path):
    model = seed_model()
    with pytest.raises(lstm.Error, match=r"expects \[N, 30, 1\].*3 features per step"):
        model.predict(np.zeros((2, 30, 3), np.float32))
    assert issubclass(lstm.Error, ValueError)
    with pytest.raises(lstm.Error, match="nope.safetensors"):
        lstm.load_model(str(tmp_path / "nope.safetensors"))
    with pytest.raises(lstm.Error, match="relu"):  # the message lists the valid names
        LSTM(4, activation="swishy")
    with pytest.raises(TypeError):
        LSTM(4, kernel_initializer="he_normal")  # a Keras argument this library does not have
    with pytest.raises(TypeError, match="NumPy array"):
        model.predict("not an array")
    with pytest.raises(lstm.Error, match="set_weights got 1 arrays"):
        model.set_weights([np.zeros(3, np.float32)])
    w = model.get_weights()
    w[0] = np.zeros((3, 3), np.float32)
    with pytest.raises(lstm.Error, match=r"layers.0.weight_ih\) has shape \[3, 3\]"):
        model.set_weights(w)
    with pytest.raises(ValueError, match="compile needs a loss"):
        lstm.Sequential().compile(optimizer="adam")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 40)
    with pytest.raises(lstm.Error):
        lstm.load_model(str(bad))

    class Boom(lstm.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("from a callback")

    X, y = windows(64)
    with pytest.raises(RuntimeError, match="from a callback"):
        model.fit(X, y, epochs=3, verbose=0, callbacks=[Boom()])
    assert model.history.epoch == [0]  # stopped after the epoch that raised


def test_matches_pytorch_outputs_and_an_adam_step():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    N, T, F, H = 16, 7, 3, 8
    X, y = windows(N, T, F, seed=5)
    rnn, head = torch.nn.LSTM(F, H, batch_first=True), torch.nn.Linear(H, 1)
    model = lstm.Sequential()
    model.add(LSTM(H, input_shape=(T, F)))
    model.add(Dense(1))
    model.compile(optimizer=lstm.optimizers.Adam(learning_rate=0.01), loss="mse")
    assert model.weight_names == ["layers.0.weight_ih", "layers.0.weight_hh", "layers.0.bias",
                                  "layers.1.weight", "layers.1.bias"]

    def torch_weights():
        return [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0, head.weight, head.bias]

    model.set_weights([w.detach().numpy() for w in torch_weights()])

    def forward(x):
        out, _ = rnn(torch.from_numpy(x))
        return head(out[:, -1])

    np.testing.assert_allclose(model.predict(X), forward(X).detach().numpy(), atol=1e-5)
    # one Adam step on the whole batch (PyTorch's update rule; Keras's epsilon)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.01, eps=1e-7)
    loss = torch.nn.functional.mse_loss(forward(X), torch.from_numpy(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    h = model.fit(X, y, epochs=1, batch_size=N, shuffle=False, verbose=0)
    assert h.history["loss"][0] == pytest.approx(loss.item(), abs=1e-6)
    for ours, theirs in zip(model.get_weights(), torch_weights()):
        if ours.shape == (4 * H,):  # the fused bias: both of PyTorch's moved by Adam separately
            continue
        np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=1e-5)


def test_a_graph_model_trains_saves_and_loads(tmp_path):
    x = lstm.Input(shape=(None, 3), name="series")
    seq, h, c = LSTM(16, return_sequences=True, return_state=True)(x)
    context = lstm.layers.Attention()([seq, seq])
    out = Dense(1)(lstm.layers.Concatenate()([h, lstm.layers.LSTM(8)(context)]))
    model = lstm.Model(x, out, name="graph")
    assert x.shape == (None, None, 3) and out.shape == (None, 1)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    X, y = windows(96, 10, 3)
    history = model.fit(X, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    loss, mae = model.evaluate(X, y)
    assert model.evaluate(X, y, return_dict=True) == {"loss": loss, "mae": mae}
    path = str(tmp_path / "graph.safetensors")
    model.save(path)
    again = lstm.load_model(path)
    assert isinstance(again, lstm.Model) and again.input_names == ["series"]
    assert np.array_equal(again.predict(X), model.predict(X))
    seq_path = str(tmp_path / "seq.safetensors")
    seed_model().save(seq_path)
    assert isinstance(lstm.load_model(seq_path), lstm.Sequential)


def test_video_layers_take_clips_and_return_frames(tmp_path):
    L = lstm.layers
    clips = lstm.Input(shape=(4, 12, 10, 1), name="clips")
    seq = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(clips)
    frames = L.Conv2D(1, (1, 1), activation="sigmoid")(seq)
    label = Dense(3, activation="softmax")(
        L.LSTM(8)(L.TimeDistributed(L.Flatten())(L.MaxPooling2D(2)(L.Conv2D(2, 3, activation="relu")(clips)))))
    assert seq.shape == (None, 4, 12, 10, 4) and frames.shape == (None, 4, 12, 10, 1)
    assert L.GlobalAveragePooling2D()(seq).shape == (None, 4, 4)
    model = lstm.Model(clips, [frames, label])
    model.compile(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"])
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (6, 4, 12, 10, 1)).astype(np.float32)
    y = [X, rng.integers(0, 3, (6, 1)).astype(np.float32)]
    model.fit(X, y, epochs=2, batch_size=3, verbose=0)
    out = model.predict(X)
    assert out[0].shape == (6, 4, 12, 10, 1) and out[1].shape == (6, 3)
    path = str(tmp_path / "video.safetensors")
    model.save(path)
    assert np.array_equal(lstm.load_model(path).predict(X)[0], out[0])
    with pytest.raises(lstm.Error, match="flatten each image first"):
        Dense(2)(clips)


def test_callbacks_from_the_library_and_from_python(tmp_path):
    X, y = windows(128)
    Xv, yv = windows(32, seed=1)
    model = seed_model()
    stopper = lstm.callbacks.EarlyStopping(monitor="val_loss", patience=0, restore_best_weights=True)
    log = tmp_path / "log.csv"

    class Record(lstm.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.batches = [], 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append((epoch, sorted(logs)))

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if self.batches == 6:  # the second batch of the second epoch (4 per epoch)
                self.model.stop_training = True

    rec = Record()
    h = model.fit(X, y, epochs=10, batch_size=32, validation_data=(Xv, yv), verbose=0,
                  callbacks=[stopper, lstm.callbacks.CSVLogger(str(log)), rec])
    assert rec.model is model
    assert rec.epochs == [(0, ["loss", "val_loss"])] and h.epoch == [0]
    assert log.read_text().splitlines()[0] == "epoch,loss,val_loss"


def test_forecast_and_text_jobs(tmp_path):
    f = lstm.forecast.train(str(SOURCE / "data/seattle-weather.csv"), "temp_max", lookback=14,
                            units=16, epochs=3, date_column="date", season=365, verbose=0)
    m = f.metrics
    assert set(m) == {"model", "naive", "seasonal", "drift", "mean"} and m["model"]["rmse"] > 0
    assert "naive" in f.table() and "kept the" in f.selection
    week = f.forecast(7)
    assert [p["step"] for p in week] == list(range(1, 8)) and week[0]["date"]
    assert f.predictions["predicted"].shape == f.predictions["actual"].shape
    f.save(str(tmp_path / "weather.safetensors"))
    texts, labels = lstm.text.read_labeled_texts(str(SOURCE / "data/text/sentiment.tsv"), "text", "label")
    c = lstm.text.train_text_classifier(texts[:600], labels[:600], epochs=2, units=16, verbose=0)
    assert c.labels == ["negative", "positive"] and 0.0 <= c.test_accuracy <= 1.0
    p = c.probabilities(["a wonderful film", "awful, boring"])
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert c.predict(["a wonderful film"])[0] in c.labels
    lm = lstm.text.train_language_model("the cat sat on the mat. " * 200, lookback=20, units=32,
                                        embedding=8, epochs=1, verbose=0)
    assert lm.heldout["bits_per_token"] > 0
    assert isinstance(lm.generate("the ", 20), str)


def test_the_type_stubs_cover_the_module_and_its_signatures():
    """Every public name of lstm._lstm is in _lstm.pyi, and every keyword argument a stub
    declares for a function is one the module accepts (its pybind11 signature)."""
    import ast
    import inspect  # noqa: F401

    stub = ast.parse((pathlib.Path(lstm.__file__).parent / "_lstm.pyi").read_text())
    declared = {n.name: n for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in dir(lstm._lstm) if not n.startswith("__")}
    assert public - set(declared) == set(), "names without stubs"
    assert set(declared) - public == set(), "stubs of names the module lacks"
    for name, node in declared.items():
        if not isinstance(node, ast.FunctionDef):
            continue
        doc = getattr(lstm._lstm, name).__doc__.splitlines()[0]  # "LSTM(units: int, activation: object = 'tanh', ...)"
        stub_args = [a.arg for a in node.args.args + node.args.kwonlyargs]
        for arg in stub_args:
            assert (arg + ":") in doc, (name, arg, doc)


def test_save_and_load_model_in_every_format(tmp_path):
    X, y = windows(32, 6, 2)
    model = lstm.Sequential()
    model.add(LSTM(8, input_shape=(6, 2)))
    model.add(Dense(1))
    model.compile(optimizer="adam", loss="mse")
    want = model.predict(X)
    for ext in ["safetensors", "keras", "h5", "onnx", "pt"]:
        path = str(tmp_path / ("model." + ext))
        model.save(path)
        again = lstm.load_model(path)
        assert isinstance(again, lstm.Sequential)
        np.testing.assert_allclose(again.predict(X), want, atol=1e-6, err_msg=ext)
    with pytest.raises(lstm.Error, match="extension"):
        model.save(str(tmp_path / "model.bin"))
    assert not (tmp_path / "model.bin").exists()


def test_a_pytorch_state_dict_loads_and_predicts_as_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(3, 12, batch_first=True)
            self.head = torch.nn.Linear(12, 2)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    net = Net()
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    X, _ = windows(10, 9, 3)
    model = lstm.load_model(str(path))
    assert any("architecture" in note for note in model.load_notes), model.load_notes  # inferred
    np.testing.assert_allclose(model.predict(X), net(torch.from_numpy(X)).detach().numpy(), atol=1e-5)
