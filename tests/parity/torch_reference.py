"""Live PyTorch reference for the parity tests: run as /usr/bin/python3 (Debian's python3-torch).

    /usr/bin/python3 tests/parity/torch_reference.py OUTDIR

For every case in CASES it builds nn.LSTM (+ nn.Linear head) with random weights (both biases
non-zero); for every case in LAYER_CASES, the PyTorch twin of an lstm config (torch_twin.py:
GRU, SimpleRNN, Bidirectional, Embedding, Masking, packed variable-length batches, the LSTM's
options: projection, no bias, peepholes, activations). It writes
the model in lstm's own file format (docs/file-format.md) and records, with
the whole computation in float64 from the same float32 starting values:
  X.npy, y.npy          the batch (lengths.npy: per-sample lengths, for the padded cases)
  pred.npy, loss.npy    the model output and the loss
  grads.safetensors     the gradient of every parameter, named like the model's tensors
  trained.safetensors   the weights after 10 optimizer steps on the full batch (a loadable model),
                        PyTorch's two biases folded into one first (see fold_biases)
  steps_loss.npy        the loss before each of those steps
  meta.json             loss, optimizer and its settings, batch size
states/ holds the same for initial and final states (h_0, c_0 in; output, h_n, c_n out) of a
padded batch. The C++ side (test_parity.cpp) loads these and compares within 1e-5.
features/, torch-files/ and conv/ come from feature_reference.py, torch_file_reference.py and
conv_reference.py.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

import conv_reference
import feature_reference
import torch_file_reference

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from torch_twin import Twin  # noqa: E402

torch.set_num_threads(1)

# name, I, H, L, B, T, last LSTM returns sequences, head width, loss, optimizer
CASES = [
    ("seed_model", 1, 50, 1, 32, 30, False, 1, "mse", "adam"),
    ("two_layer", 3, 5, 2, 4, 7, False, 2, "mse", "adam"),
    ("b1_t1", 4, 8, 2, 1, 1, False, 3, "mse", "adam"),
    ("sequences_out", 6, 4, 3, 5, 9, True, 2, "mse", "adam"),
    ("t1_sequences", 9, 3, 1, 7, 1, True, 1, "mae", "adam"),
    ("b1_long", 2, 16, 2, 1, 40, False, 1, "mse", "adam"),
    ("classify_logits", 5, 12, 1, 6, 8, False, 4, "scce_logits", "sgd_nesterov"),
    ("binary_logits", 3, 7, 2, 8, 5, False, 1, "bce_logits", "rmsprop"),
    ("adamw_clipped", 4, 6, 1, 5, 6, False, 2, "mse", "adamw_clip"),
    ("quantile_head", 3, 6, 1, 5, 8, False, 6, "quantile_0.1_0.5_0.9", "adam"),  # 2 values x 3 levels
]
STEPS = 10

# The other layers, as lstm model configs that torch_twin.py mirrors:
# name, config, B, T, lengths ("given": explicit, "padding": found from zeros by the first
# layer, None: all T), loss, optimizer.
def _rnn(t, units, seq=False, **kw):
    return dict({"type": t, "units": units, "return_sequences": seq}, **kw)


def _bi(layer, mode="concat"):
    return {"type": "bidirectional", "merge_mode": mode, "layer": layer}


LAYER_CASES = [
    ("gru_stack", {"input_shape": [7, 3], "layers": [_rnn("gru", 8, True), _rnn("gru", 6), {"type": "dense", "units": 2}]},
     5, 7, None, "mse", "adam"),
    ("simple_rnn_tanh_relu", {"input_shape": [6, 4], "layers": [
        _rnn("simple_rnn", 6, True, activation="tanh"), _rnn("simple_rnn", 5, activation="relu"),
        {"type": "dense", "units": 1}]}, 6, 6, None, "mse", "adam"),
    ("bidirectional_stacked", {"input_shape": [6, 3], "layers": [
        _bi(_rnn("lstm", 5, True)), _bi(_rnn("lstm", 4)), {"type": "dense", "units": 2}]}, 4, 6, None, "mse", "adam"),
    ("merge_modes", {"input_shape": [5, 2], "layers": [
        _bi(_rnn("gru", 4, True), "sum"), _bi(_rnn("lstm", 3, True), "mul"), _bi(_rnn("simple_rnn", 3), "ave"),
        {"type": "dense", "units": 1}]}, 3, 5, None, "mse", "adam"),
    ("packed_lstm", {"input_shape": [9, 3], "layers": [_rnn("lstm", 6, True), _rnn("lstm", 5), {"type": "dense", "units": 2}]},
     7, 9, "given", "mse", "adam"),
    ("packed_bidirectional", {"input_shape": [8, 4], "layers": [
        _bi(_rnn("lstm", 5, True)), _bi(_rnn("gru", 4)), {"type": "dense", "units": 3}]},
     6, 8, "given", "scce_logits", "adam"),
    ("packed_sequences_out", {"input_shape": [7, 2], "layers": [
        _bi(_rnn("lstm", 4, True)), {"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "tanh"}}]},
     5, 7, "given", "mse", "rmsprop"),
    ("packed_go_backwards", {"input_shape": [6, 3], "layers": [
        _rnn("lstm", 5, True, go_backwards=True), _rnn("gru", 4, go_backwards=True), {"type": "dense", "units": 1}]},
     5, 6, "given", "mse", "adam"),
    ("embedding_mask_zero", {"input_shape": [8], "layers": [
        {"type": "embedding", "input_dim": 12, "output_dim": 5, "mask_zero": True}, _rnn("lstm", 6),
        {"type": "dense", "units": 3}]}, 6, 8, "padding", "scce_logits", "sgd_nesterov"),
    # no mask: the Embedding is fused into the LSTM's input projection (layers/token_input.h)
    ("embedding_tokens_seq", {"input_shape": [9], "layers": [
        {"type": "embedding", "input_dim": 7, "output_dim": 4}, _rnn("lstm", 6, True),
        {"type": "time_distributed", "layer": {"type": "dense", "units": 7}}]}, 5, 9, None, "mse", "adam"),
    ("embedding_tokens_last", {"input_shape": [8], "layers": [
        {"type": "embedding", "input_dim": 30, "output_dim": 5}, _rnn("lstm", 6),
        {"type": "dense", "units": 2}]}, 6, 8, None, "mse", "sgd_nesterov"),
    ("masking_gru", {"input_shape": [6, 2], "layers": [
        {"type": "masking", "mask_value": 0.0}, _rnn("gru", 5), {"type": "dense", "units": 1}]},
     5, 6, "padding", "mse", "adam"),
    # the LSTM's options: projection and no bias on nn.LSTM itself, the rest on ManualLSTM
    ("lstm_projection", {"input_shape": [7, 3], "layers": [
        _rnn("lstm", 8, True, proj_size=3), _bi(_rnn("lstm", 6, proj_size=4)), {"type": "dense", "units": 2}]},
     5, 7, None, "mse", "adam"),
    # CTC (lstm/ctc.h): a BiLSTM acoustic model's shape, padded frames, label rows padded
    # with 0; the targets hold an empty one, a repeat that needs a blank and one that fills
    # its frames exactly (make_ctc_targets)
    ("ctc_bilstm", {"input_shape": [10, 3], "layers": [
        _bi(_rnn("lstm", 5, True)), {"type": "dense", "units": 5}]}, 6, 10, "given", "ctc", "adam"),
    ("packed_projection_no_bias", {"input_shape": [8, 4], "layers": [
        _rnn("lstm", 6, True, proj_size=2, use_bias=False), _bi(_rnn("lstm", 5, True, use_bias=False), "sum"),
        {"type": "time_distributed", "layer": {"type": "dense", "units": 2}}]},
     6, 8, "given", "mse", "adam"),
    ("lstm_peepholes", {"input_shape": [6, 3], "layers": [
        _rnn("lstm", 6, True, use_peepholes=True, recurrent_activation="hard_sigmoid"),
        _bi(_rnn("lstm", 4, use_peepholes=True, proj_size=3, activation="relu")), {"type": "dense", "units": 2}]},
     5, 6, "given", "mse", "adam"),
    ("bidirectional_merge_none", {"input_shape": [6, 3], "layers": [
        _rnn("gru", 4, True), _bi(_rnn("lstm", 3, True, proj_size=2), None)]}, 5, 6, "given", "mse", "adam"),
    # Keras's GRU with reset_after = false (ManualGRU): stacked, both directions, go_backwards
    ("gru_reset_before", {"input_shape": [7, 3], "layers": [
        _rnn("gru", 5, True, reset_after=False), _bi(_rnn("gru", 4, True, reset_after=False), "concat"),
        _rnn("gru", 3, go_backwards=True, reset_after=False), {"type": "dense", "units": 2}]},
     5, 7, "given", "mse", "adam"),
    ("lstm_activations", {"input_shape": [5, 2], "layers": [
        _rnn("lstm", 5, True, activation="linear", use_bias=False),
        _rnn("lstm", 4, activation="sigmoid", recurrent_activation="tanh", go_backwards=True),
        {"type": "dense", "units": 1}]}, 4, 5, None, "mse", "rmsprop"),
]


def write_safetensors(path, tensors, metadata=None, dtype=np.float32):
    """tensors: list of (name, array). The standard layout: u64 LE header length, JSON, data."""
    code = {np.float32: "F32", np.float64: "F64"}[dtype]
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def model_config(I, H, L, T, seq_last, E):
    layers = [{"type": "lstm", "units": H, "return_sequences": (k < L - 1) or seq_last} for k in range(L)]
    layers.append({"type": "dense", "units": E, "activation": "linear"})
    return {"input_shape": [T, I], "layers": layers}


def lstm_tensors(lstm, head, L, grads=False):
    """The model's parameters (or their gradients) under lstm's tensor names. PyTorch keeps two
    biases per layer; only their sum matters, and lstm stores that one bias."""
    get = (lambda p: p.grad) if grads else (lambda p: p)
    out = []
    for k in range(L):
        w_ih, w_hh = get(getattr(lstm, f"weight_ih_l{k}")), get(getattr(lstm, f"weight_hh_l{k}"))
        b_ih, b_hh = get(getattr(lstm, f"bias_ih_l{k}")), get(getattr(lstm, f"bias_hh_l{k}"))
        # d(loss)/d(b) for the single bias b = b_ih + b_hh equals each of their gradients.
        bias = b_ih if grads else b_ih + b_hh
        out += [(f"layers.{k}.weight_ih", w_ih), (f"layers.{k}.weight_hh", w_hh), (f"layers.{k}.bias", bias)]
    out += [(f"layers.{L}.weight", get(head.weight)), (f"layers.{L}.bias", get(head.bias))]
    return [(n, t.detach().numpy()) for n, t in out]


def make_optimizer(name, params):
    if name == "adam":
        return torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-7), {"optimizer": "adam", "lr": 0.01, "epsilon": 1e-7}
    if name == "adamw_clip":
        return torch.optim.AdamW(params, lr=0.01, eps=1e-7, weight_decay=0.05), {"optimizer": "adamw", "lr": 0.01, "epsilon": 1e-7, "weight_decay": 0.05, "clip_norm": 0.5}
    if name == "sgd_nesterov":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True), {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5), {"optimizer": "rmsprop", "lr": 0.01, "rho": 0.9, "epsilon": 1e-7, "momentum": 0.5}
    raise ValueError(name)


def ctc_criterion(pred, y, lengths):
    """lstm's CTC loss: PyTorch's ctc_loss on the log-softmax, blank 0, summed, / N."""
    B, T = pred.shape[0], pred.shape[1]
    lp = torch.nn.functional.log_softmax(pred, dim=-1).transpose(0, 1)
    frames = lengths if lengths is not None else torch.full((B,), T, dtype=torch.long)
    y = y.long()
    target_lengths = (y != 0).sum(dim=1)
    return torch.nn.functional.ctc_loss(lp, y, frames, target_lengths, blank=0, reduction="sum") / B


def make_ctc_targets(frames, classes, L, gen):
    """Label rows [N, L] padded with 0, each feasible for its frames: row 0 empty, row 1 a
    repeat that needs a blank (when it has 3 frames), row 2 exactly as long as its frames
    allow, the rest random."""
    N = len(frames)
    y = torch.zeros(N, L, dtype=torch.long)
    for n in range(N):
        T = int(frames[n])
        if n == 0:
            continue
        if n == 1 and T >= 3 and L >= 2:
            y[n, :2] = 1 + torch.randint(0, classes - 1, (1,), generator=gen)
            continue
        count = min(L, T) if n == 2 else int(torch.randint(0, min(L, T) + 1, (1,), generator=gen))
        row = (1 + torch.randint(0, classes - 1, (count,), generator=gen)).tolist()
        # keep it feasible: while the blanks needed between equal neighbours overflow, change one
        while sum(1 for i in range(1, len(row)) if row[i] == row[i - 1]) + len(row) > T:
            i = next(i for i in range(1, len(row)) if row[i] == row[i - 1])
            row[i] = row[i] % (classes - 1) + 1
            if i + 1 < len(row) and row[i + 1] == row[i]:
                row[i + 1] = row[i + 1] % (classes - 1) + 1
        y[n, :len(row)] = torch.tensor(row, dtype=torch.long)
    return y


def pinball(levels):
    """The quantile (pinball) loss: outputs [N, W*Q], quantile fastest; targets [N, W]."""
    q = torch.tensor(levels, dtype=torch.float64)

    def crit(pred, y):
        e = y.unsqueeze(-1) - pred.reshape(*y.shape, len(levels))
        return torch.maximum(q * e, (q - 1) * e).mean()
    return crit


def loss_fn(name):
    if name.startswith("quantile_"):
        return pinball([float(v) for v in name.split("_")[1:]])
    return {"mse": torch.nn.MSELoss(), "mae": torch.nn.L1Loss(), "scce_logits": torch.nn.CrossEntropyLoss(),
            "bce_logits": torch.nn.BCEWithLogitsLoss(), "ctc": ctc_criterion}[name]


def build_case(I, H, L, E, seed):
    """nn.LSTM + Linear with float32-representable random weights (both biases non-zero)."""
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(I, H, L, batch_first=True)
    head = torch.nn.Linear(H, E)
    with torch.no_grad():
        for p in list(lstm.parameters()) + list(head.parameters()):
            p.uniform_(-0.6, 0.6)
    return lstm, head


def fold_biases(lstm, L):
    """Makes the PyTorch model the single-bias model lstm trains: b_ih += b_hh, then b_hh = 0
    and frozen. Outputs do not change; training does: with two biases, an optimizer step moves
    their sum twice (Adam moves each parameter by about lr), so plain nn.LSTM learns its biases
    at twice the rate of lstm's (and Keras's) one bias."""
    with torch.no_grad():
        for k in range(L):
            b_ih, b_hh = getattr(lstm, f"bias_ih_l{k}"), getattr(lstm, f"bias_hh_l{k}")
            b_ih += b_hh
            b_hh.zero_()
            b_hh.requires_grad_(False)


def forward(lstm, head, X, seq_last):
    out, _ = lstm(X)
    return head(out) if seq_last else head(out[:, -1])


def run_case(outdir, name, I, H, L, B, T, seq_last, E, loss_name, opt_name, seed):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    lstm, head = build_case(I, H, L, E, seed)
    config = model_config(I, H, L, T, seq_last, E)
    write_safetensors(os.path.join(d, "model.safetensors"), lstm_tensors(lstm, head, L),
                      {"lstm.config": json.dumps(config), "lstm.format_version": "1"})
    X = torch.randn(B, T, I, dtype=torch.float32)
    ydims = (B, T, E) if seq_last else (B, E)
    if loss_name.startswith("quantile_"):  # one target per Q outputs
        ydims = ydims[:-1] + (E // (len(loss_name.split("_")) - 1),)
    if loss_name == "scce_logits":
        y = torch.randint(0, E, (B,))
    elif loss_name == "bce_logits":
        y = torch.randint(0, 2, ydims).to(torch.float32)
    else:
        y = torch.randn(*ydims, dtype=torch.float32)
    np.save(os.path.join(d, "X.npy"), X.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy())
    # The reference computation runs in float64 from the same float32 values.
    lstm, head, X = lstm.double(), head.double(), X.double()
    if y.dtype == torch.float32:
        y = y.double()
    crit = loss_fn(loss_name)
    pred = forward(lstm, head, X, seq_last)
    loss = crit(pred, y)
    loss.backward()
    np.save(os.path.join(d, "pred.npy"), pred.detach().numpy())
    np.save(os.path.join(d, "loss.npy"), np.array([loss.item()]))
    write_safetensors(os.path.join(d, "grads.safetensors"), lstm_tensors(lstm, head, L, grads=True), dtype=np.float64)
    fold_biases(lstm, L)
    params = [p for p in list(lstm.parameters()) + list(head.parameters()) if p.requires_grad]
    opt, settings = make_optimizer(opt_name, params)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = crit(forward(lstm, head, X, seq_last), y)
        loss.backward()
        if "clip_norm" in settings:
            torch.nn.utils.clip_grad_norm_(params, settings["clip_norm"])
        opt.step()
        losses.append(loss.item())
    np.save(os.path.join(d, "steps_loss.npy"), np.array(losses))
    write_safetensors(os.path.join(d, "trained.safetensors"), lstm_tensors(lstm, head, L),
                      {"lstm.config": json.dumps(config), "lstm.format_version": "1"}, dtype=np.float64)
    meta = {"loss": loss_name, "batch_size": B, "steps": STEPS,
            "params_torch": sum(p.numel() for p in list(lstm.parameters()) + list(head.parameters())),
            "lstm_layers": L, "hidden": H}
    meta.update(settings)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


def masked_loss(crit, loss_name, pred, y, lengths, seq_out, outputs=1):
    """The loss over valid steps only when outputs are sequences of different lengths; with
    two outputs (Bidirectional merge_mode none) the sum of theirs, as Keras adds them."""
    if outputs == 2:
        return sum(masked_loss(crit, loss_name, pred[k], y[k], lengths, seq_out) for k in range(2))
    if loss_name == "ctc":
        return crit(pred, y, lengths)
    if lengths is None or not seq_out:
        return crit(pred, y)
    mask = torch.arange(pred.shape[1])[None, :] < lengths[:, None]
    return crit(pred[mask], y[mask])


def run_layer_case(outdir, name, config, B, T, lengths_kind, loss_name, opt_name, seed):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    twin = Twin(config, seed)
    write_safetensors(os.path.join(d, "model.safetensors"), twin.tensors(),
                      {"lstm.config": json.dumps(config), "lstm.format_version": "1"})
    first = config["layers"][0]
    lengths = None
    if lengths_kind is not None:
        lengths = torch.randint(1, T + 1, (B,))
        lengths[0] = T  # one full row, one of length 1
        lengths[-1] = 1
    if first["type"] == "embedding":
        X = torch.randint(1, first["input_dim"], (B, T)).to(torch.float32)
    else:
        X = torch.randn(B, T, config["input_shape"][-1], dtype=torch.float32)
    if lengths is not None:
        for n in range(B):
            X[n, int(lengths[n]):] = 0.0  # right padding (zeros: what mask_zero and Masking read)
    last = twin.layers[-1]
    outputs = 2 if getattr(last, "merge", None) == "none" else 1
    seq_out = (last.__class__.__name__ == "DenseTwin" and any(
        getattr(l, "seq", False) for l in twin.layers[-2:-1])) or (outputs == 2 and last.seq)
    E = last.out_features
    ydims = (B, T, E) if seq_out else (B, E)
    if outputs == 2:
        ydims = (2,) + ydims
    if loss_name == "scce_logits":
        y = torch.randint(0, E, ydims[:-1])
    elif loss_name == "ctc":
        frames = lengths if lengths is not None else torch.full((B,), T)
        y = make_ctc_targets(frames, E, 4, torch.Generator().manual_seed(seed))
    else:
        y = torch.randn(*ydims, dtype=torch.float32)
    np.save(os.path.join(d, "X.npy"), X.numpy())
    np.save(os.path.join(d, "y.npy"), y.numpy())
    if lengths is not None:
        np.save(os.path.join(d, "lengths.npy"), lengths.numpy().astype(np.int64))
    twin, X = twin.double(), X.double()
    if y.dtype == torch.float32:
        y = y.double()
    crit = loss_fn(loss_name)
    pred = twin(X, lengths)
    loss = masked_loss(crit, loss_name, pred, y, lengths, seq_out, outputs)
    loss.backward()
    np.save(os.path.join(d, "pred.npy"), pred.detach().numpy())
    np.save(os.path.join(d, "loss.npy"), np.array([loss.item()]))
    write_safetensors(os.path.join(d, "grads.safetensors"), twin.tensors(grads=True), dtype=np.float64)
    twin.fold_biases()
    params = [p for p in twin.parameters() if p.requires_grad]
    opt, settings = make_optimizer(opt_name, params)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = masked_loss(crit, loss_name, twin(X, lengths), y, lengths, seq_out, outputs)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.save(os.path.join(d, "steps_loss.npy"), np.array(losses))
    write_safetensors(os.path.join(d, "trained.safetensors"), twin.tensors(),
                      {"lstm.config": json.dumps(config), "lstm.format_version": "1"}, dtype=np.float64)
    meta = {"loss": loss_name, "batch_size": B, "steps": STEPS, "params_lstm": twin.lstm_param_count(),
            "lengths": lengths_kind or "none"}
    meta.update(settings)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


# Initial and final states (predict_with_state): h_0, c_0 given per direction, h_n, c_n back, on
# a padded batch; a Bidirectional LSTM with a projection, a GRU, a Bidirectional GRU with
# reset_after = false.
STATES_CONFIG = {"input_shape": [6, 3], "layers": [
    _bi(_rnn("lstm", 4, True, proj_size=3)), _rnn("gru", 3, True), _bi(_rnn("gru", 2, True, reset_after=False)),
    {"type": "dense", "units": 2}]}


def run_states_case(outdir, seed):
    d = os.path.join(outdir, "states")
    os.makedirs(d, exist_ok=True)
    config, N, T = STATES_CONFIG, 5, 6
    twin = Twin(config, seed)
    write_safetensors(os.path.join(d, "model.safetensors"), twin.tensors(),
                      {"lstm.config": json.dumps(config), "lstm.format_version": "1"})
    lengths = torch.tensor([6, 2, 4, 1, 5])
    X = torch.randn(N, T, 3)
    for n in range(N):
        X[n, int(lengths[n]):] = 0.0
    np.save(os.path.join(d, "X.npy"), X.numpy())
    np.save(os.path.join(d, "lengths.npy"), lengths.numpy().astype(np.int64))
    initial = random_states(twin, N)
    pred, final = run_with_states(twin, X, lengths, initial)
    for k, ((h0, c0), (hn, cn)) in enumerate(zip(initial, final)):
        np.save(os.path.join(d, f"h0_{k}.npy"), h0.numpy())
        np.save(os.path.join(d, f"hn_{k}.npy"), hn)
        if c0 is not None:
            np.save(os.path.join(d, f"c0_{k}.npy"), c0.numpy())
            np.save(os.path.join(d, f"cn_{k}.npy"), cn)
    np.save(os.path.join(d, "pred.npy"), pred)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"states": len(initial)}, f)


def random_states(twin, N):
    """[(h_0 [N, W], c_0 [N, H] or None)] in float32, one per recurrent direction in order."""
    out = []
    for layer in twin.layers:
        if hasattr(layer, "forward_with_state"):
            for _ in range(2 if layer.bidirectional else 1):
                out.append((torch.randn(N, layer.W), torch.randn(N, layer.H) if layer.kind == "lstm" else None))
    return out


def run_with_states(twin, X, lengths, initial):
    """The model's output and [(h_n, c_n or None)] per direction, in float64, from `initial`."""
    twin = twin.double()
    x, k, final = X.double(), 0, []
    with torch.no_grad():
        for layer in twin.layers:
            if not hasattr(layer, "forward_with_state"):
                x = layer(x, lengths)
                continue
            dirs = 2 if layer.bidirectional else 1
            h0 = torch.stack([initial[k + j][0] for j in range(dirs)]).double()
            c0 = torch.stack([initial[k + j][1] for j in range(dirs)]).double() if layer.kind == "lstm" else None
            x, (hn, cn) = layer.forward_with_state(x, lengths, (h0, c0))
            final += [(hn[j].numpy(), None if cn is None else cn[j].numpy()) for j in range(dirs)]
            k += dirs
    return x.numpy(), final


# NaN in a weight: PyTorch's outputs are NaN wherever it reaches, and lstm's must be NaN in
# exactly the same places (activations that clamp would hide it). Each model poisons one
# element of its first parameter; the finite twin goes in model.safetensors (lstm refuses to
# load NaN weights), the poisoned tensors in poisoned.safetensors for the test to set.
NAN_CASES = [
    ("lstm", {"input_shape": [5, 3], "layers": [_rnn("lstm", 4, True), {"type": "dense", "units": 2}]}),
    ("lstm_hard_sigmoid_relu", {"input_shape": [5, 3], "layers": [
        _rnn("lstm", 4, True, activation="relu", recurrent_activation="hard_sigmoid"),
        {"type": "dense", "units": 2}]}),
    ("gru", {"input_shape": [5, 3], "layers": [_rnn("gru", 4, True), {"type": "dense", "units": 2}]}),
    ("gru_reset_before", {"input_shape": [5, 3], "layers": [
        _rnn("gru", 4, True, reset_after=False), {"type": "dense", "units": 2}]}),
    ("simple_rnn_relu", {"input_shape": [5, 3], "layers": [
        _rnn("simple_rnn", 4, True, activation="relu"), {"type": "dense", "units": 2}]}),
    ("dense_relu_sigmoid", {"input_shape": [3], "layers": [
        {"type": "dense", "units": 4, "activation": "relu"},
        {"type": "dense", "units": 3, "activation": "sigmoid"}]}),
]


def run_nan_case(outdir, name, config, seed):
    d = os.path.join(outdir, "nan", name)
    os.makedirs(d, exist_ok=True)
    twin = Twin(config, seed)
    meta = {"lstm.config": json.dumps(config), "lstm.format_version": "1"}
    write_safetensors(os.path.join(d, "model.safetensors"), twin.tensors(), meta)
    with torch.no_grad():
        next(twin.parameters()).view(-1)[1] = float("nan")
    write_safetensors(os.path.join(d, "poisoned.safetensors"), twin.tensors(), meta)
    shape = [6] + config["input_shape"]
    X = torch.randn(*shape, dtype=torch.float32)
    np.save(os.path.join(d, "X.npy"), X.numpy())
    with torch.no_grad():
        pred = twin.double()(X.double())
    np.save(os.path.join(d, "pred.npy"), pred.numpy())


# The CTC loss alone (lstm::ctc_loss), per sequence: name, T, B, C, longest label row. Each case
# has random frames per sample (one at T) and targets from make_ctc_targets (an empty row, a
# repeat that needs a blank, one that needs every frame); "exact" a row 1 1 2 2 in exactly its 6
# frames; "impossible" has a row that needs more
# frames than it has (loss +inf, gradient zero), "peaked" logits far apart (the log-space test).
CTC_CASES = [
    ("small", 6, 5, 4, 3),
    ("long", 60, 4, 12, 20),
    ("many_classes", 25, 3, 40, 8),
    ("one_frame", 1, 3, 3, 1),
    ("impossible", 5, 3, 4, 4),
    ("peaked", 30, 4, 6, 6),
    ("exact", 8, 3, 4, 4),
]


def run_ctc_cases(outdir):
    root = os.path.join(outdir, "ctc")
    for seed, (name, T, B, C, L) in enumerate(CTC_CASES):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(500 + seed)
        scale = 30.0 if name == "peaked" else 3.0
        logits = (scale * torch.randn(T, B, C, generator=gen)).to(torch.float32)
        frames = torch.randint(1, T + 1, (B,), generator=gen)
        frames[0] = T
        y = make_ctc_targets(frames, C, L, gen)
        if name == "exact":  # frames = labels + the blanks their repeats need
            frames[1] = 6
            y[1] = torch.tensor([1, 1, 2, 2])
        if name == "impossible":
            frames[2] = 2
            y[2] = 0
            y[2, :3] = torch.tensor([1, 2, 3])
        np.save(os.path.join(d, "logits.npy"), logits.numpy())
        np.save(os.path.join(d, "frames.npy"), frames.numpy().astype(np.int64))
        np.save(os.path.join(d, "targets.npy"), y.numpy().astype(np.int64))
        z = logits.double().requires_grad_(True)
        lp = torch.nn.functional.log_softmax(z, dim=-1)
        target_lengths = (y != 0).sum(dim=1)
        per = torch.nn.functional.ctc_loss(lp, y, frames, target_lengths, blank=0, reduction="none")
        np.savetxt(os.path.join(d, "loss.txt"), per.detach().numpy(), fmt="%.17g")  # float64 exactly
        finite = torch.nn.functional.ctc_loss(lp, y, frames, target_lengths, blank=0, reduction="sum",
                                              zero_infinity=True)
        finite.backward()
        np.save(os.path.join(d, "grad.npy"), z.grad.numpy())
    with open(os.path.join(root, "cases.txt"), "w") as f:
        f.write("\n".join(c[0] for c in CTC_CASES) + "\n")


def main():
    outdir = sys.argv[1]
    run_ctc_cases(outdir)
    feature_reference.main()  # the speech features' NumPy reference, into outdir/features
    conv_reference.main(outdir)  # Conv2D's, into outdir/conv
    os.makedirs(outdir, exist_ok=True)
    for seed, case in enumerate(CASES):
        run_case(outdir, *case, seed=seed)
    for seed, case in enumerate(LAYER_CASES):
        run_layer_case(outdir, *case, seed=100 + seed)
    run_states_case(outdir, seed=200)
    for seed, (name, config) in enumerate(NAN_CASES):
        run_nan_case(outdir, name, config, seed=300 + seed)
    with open(os.path.join(outdir, "nan", "cases.txt"), "w") as f:
        f.write("\n".join(name for name, _ in NAN_CASES) + "\n")
    torch_file_reference.main()  # torch.save files for the restricted reader, into outdir/torch-files
    names = [c[0] for c in CASES] + [c[0] for c in LAYER_CASES]
    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"wrote {len(names)} PyTorch {torch.__version__} reference cases to {outdir}")


if __name__ == "__main__":
    main()
