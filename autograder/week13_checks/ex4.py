"""Hidden tests for Exercise 4: get_device and fit.

"Device-agnostic" is tested without a GPU: the loaders yield tensors of a
small subclass that remembers whether `.to(device)` was called on it and
from which split it came; the model records its mode, the grad mode and
its inputs' history at every forward call, and every `model.to(...)` call.
When CUDA is available, the real CUDA path is run and compared too.
"""

import copy
import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from . import _pristine as P
from ._pristine import dict, getattr, isinstance, len, list, range, sorted, type
from ._report import CheckFailed, expect, expect_floats_per_epoch
from ._reference import fit as ref_fit
from . import check

KEYS = ("train_loss", "test_loss", "test_acc")


def _device_arg(args, kwargs):
    """The device a Tensor.to / Module.to call asks for, or None (a dtype-only call)."""
    candidates = list(args) + ([kwargs["device"]] if "device" in kwargs else [])
    for a in candidates:
        if isinstance(a, (P.str, torch.device)):
            return torch.device(a)
        if type(a) is P.int:
            return torch.device("cuda", a)
        if isinstance(a, torch.Tensor):
            return P.device_of(a)
    return None


class _Tracked(torch.Tensor):
    """A tensor that remembers its split and the device `.to()` was asked for."""

    def to(self, *args, **kwargs):
        out = super().to(*args, **kwargs)
        target = _device_arg(args, kwargs)
        if target is not None and isinstance(out, _Tracked):
            out._w13_to = target
            out._w13_split = getattr(self, "_w13_split", None)
        return out


def _mark(t, split):
    out = t.clone().as_subclass(_Tracked)
    out._w13_split = split
    return out


class _Loader:
    """A DataLoader stand-in that yields fresh marked CPU tensors, in order."""

    def __init__(self, X, y, batch_size, split):
        self.dataset = TensorDataset(X, y)
        self.batch_size = batch_size
        self.split = split
        self._X, self._y = X, y

    def __len__(self):
        return math.ceil(len(self._y) / self.batch_size)

    def __iter__(self):
        for start in range(0, len(self._y), self.batch_size):
            stop = start + self.batch_size
            yield _mark(self._X[start:stop], self.split), _mark(self._y[start:stop], self.split)


class _Net(nn.Module):
    """A small classifier that records every forward call and every .to() call."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
        self.calls = []
        self.to_calls = []

    def to(self, *args, **kwargs):
        self.to_calls.append(_device_arg(args, kwargs))
        return super().to(*args, **kwargs)

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled(),
                           getattr(x, "_w13_split", None), getattr(x, "_w13_to", None)))
        return self.body(x.as_subclass(torch.Tensor) if isinstance(x, _Tracked) else x)


class _Loss(nn.CrossEntropyLoss):
    """Cross-entropy that records where each target batch was moved."""

    def __init__(self):
        super().__init__()
        self.targets = []

    def forward(self, input, target):
        self.targets.append((getattr(target, "_w13_split", None), getattr(target, "_w13_to", None)))
        if isinstance(target, _Tracked):
            target = target.as_subclass(torch.Tensor)
        return super().forward(input, target)


def _data(seed, n_train=44, n_test=30):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n_train + n_test, 5, generator=g)
    y = ((X[:, 0] - X[:, 2] + 0.5 * torch.randn(n_train + n_test, generator=g)) > 0).long()
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _call_fit(ns, model, train, test, criterion, optimizer, epochs, device):
    """The notebook's fit; a CUDA error while fit was given another device gets a one-line explanation."""
    try:
        return ns["fit"](model, train, test, criterion, optimizer, epochs, device)
    except Exception as e:
        if torch.device(device).type != "cuda" and "cuda" in P.str(e).lower():
            raise CheckFailed(f"fit was given device {device!r} but tried to use CUDA ({type(e).__name__}): move the "
                              f"model and every batch with .to(device); never call .cuda() or name 'cuda' in fit") from None
        raise


def _tracked_run(seed):
    """A recording model and loss, the marked loaders and an optimiser, for one fit call."""
    Xtr, ytr, Xte, yte = _data(seed)
    torch.manual_seed(seed)
    model, criterion = _Net(), _Loss()
    train = _Loader(Xtr, ytr, 16, "train")  # batches of 16, 16, 12
    test = _Loader(Xte, yte, 20, "test")  # batches of 20, 10
    return model, criterion, train, test, torch.optim.SGD(model.parameters(), lr=0.1)


def _tracked_fit(ns, device, epochs=2, seed=40):
    model, criterion, train, test, optimizer = _tracked_run(seed)
    history = _call_fit(ns, model, train, test, criterion, optimizer, epochs, device)
    return model, criterion, history, (len(train), len(test))


def _devices_used(model, criterion):
    """Every device fit moved the model, an input batch or a target batch to."""
    moved = list(model.to_calls) + [c[3] for c in model.calls] + [t[1] for t in criterion.targets]
    return [d for d in moved if d is not None]


def _check_history(history, epochs):
    expect(type(history) is dict, f"fit should return a dict, got {type(history).__name__}")
    keys = sorted(P.list(history.keys())) if P.all(type(k) is P.str for k in history) else None
    expect(keys == sorted(KEYS), f"fit should return the keys {sorted(KEYS)}, got {keys}")
    for key in KEYS:
        expect_floats_per_epoch(history[key], epochs, f"history[{key!r}]", lambda v: " (use loss.item())")


@check("ex4_hidden_get_device")
def get_device(ns):
    fn = ns["get_device"]
    real_cuda, real_mps = torch.cuda.is_available, torch.backends.mps.is_available
    try:
        for cuda, mps, want in ((True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")):
            torch.cuda.is_available = lambda: cuda
            torch.backends.mps.is_available = lambda: mps
            got = fn()
            expect(type(got) is torch.device, f"get_device should return a torch.device, got {type(got).__name__}")
            expect(got.type == want, f"with cuda available={cuda} and mps available={mps}, get_device should pick "
                                     f"{want!r}, got {got.type!r} (check cuda first, then mps, then cpu)")
    finally:
        torch.cuda.is_available, torch.backends.mps.is_available = real_cuda, real_mps


@check("ex4_hidden_moves_to_device")
def moves_to_device(ns):
    for device in ("cpu", torch.device("cpu")):
        model, criterion, history, _ = _tracked_fit(ns, device)
        _check_history(history, 2)
        expect(P.any(d == torch.device("cpu") for d in model.to_calls),
               f"fit should move the model with model.to(device) (device given as {device!r})")
        expect(len(model.calls) > 0, "fit should call the model on the batches")
        for _, _, split, moved in model.calls:
            expect(moved == torch.device("cpu"),
                   f"every {split} batch should be moved inside the loop with batch_x.to(device) "
                   f"before calling the model (device given as {device!r})")
        for split, moved in criterion.targets:
            expect(moved == torch.device("cpu"),
                   f"every {split} target batch should be moved with batch_y.to(device) (device given as {device!r})")
    _uses_given_device(ns)
    if torch.cuda.is_available():
        _real_device_run(ns, torch.device("cuda"))


def _uses_given_device(ns):
    """fit trains on the device it is given, even when get_device() would pick another one.

    On a CPU-only grader, a fit that calls get_device() itself would look right;
    here get_device() answers "meta" while fit is given "cpu".
    """
    model, criterion, train, test, optimizer = _tracked_run(44)
    had, saved = "get_device" in ns, ns.get("get_device")
    ns["get_device"] = lambda: torch.device("meta")
    try:
        ns["fit"](model, train, test, criterion, optimizer, 1, "cpu")
    except Exception:  # a fit that moved things to "meta" fails on the way; what it moved is recorded
        pass
    finally:
        if had:
            ns["get_device"] = saved
        else:
            ns.pop("get_device", None)
    elsewhere = [d for d in _devices_used(model, criterion) if d.type != "cpu"]
    expect(elsewhere == [], "fit was given device 'cpu' but moved the model or the batches to the device get_device() "
                            "picks: use fit's device argument, do not call get_device() inside fit")


def _real_device_run(ns, device):
    """Run fit for real on `device` and compare with the CPU reference."""
    Xtr, ytr, Xte, yte = _data(41)
    torch.manual_seed(41)
    base = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    ref_model, model = copy.deepcopy(base), copy.deepcopy(base)

    def loaders():
        return DataLoader(TensorDataset(Xtr, ytr), batch_size=16), DataLoader(TensorDataset(Xte, yte), batch_size=20)

    want = ref_fit(ref_model, *loaders(), nn.CrossEntropyLoss(), torch.optim.SGD(ref_model.parameters(), lr=0.1), 2, "cpu")
    got = ns["fit"](model, *loaders(), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), 2, device)
    _check_history(got, 2)
    expect(P.all(P.device_of(p).type == device.type for p in model.parameters()),
           f"after fit on {device.type}, the model's parameters should be on {device.type}")
    for key in KEYS:
        expect(P.all_close(got[key], want[key], rtol=1e-4, atol=1e-5),
               f"on {device.type}, {key} should match the same run on the CPU")


@check("ex4_hidden_eval_mode")
def eval_mode(ns):
    epochs = 3
    model, _, history, (n_train, n_test) = _tracked_fit(ns, "cpu", epochs=epochs, seed=42)
    train_calls = [c for c in model.calls if c[2] == "train"]
    test_calls = [c for c in model.calls if c[2] == "test"]
    expect(len(train_calls) == epochs * n_train, f"fit should train on every training batch in each of the {epochs} epochs")
    expect(len(test_calls) == epochs * n_test, "fit should evaluate on every test batch after each epoch")
    expect(P.all(training for training, _, _, _ in train_calls),
           "training should run in model.train() mode in every epoch (call model.train() at the start of each epoch, "
           "since evaluation switched to eval mode)")
    expect(P.all(grad for _, grad, _, _ in train_calls), "training must run with gradients enabled")
    expect(not P.any(training for training, _, _, _ in test_calls), "evaluation should run in model.eval() mode")
    expect(not P.any(grad for _, grad, _, _ in test_calls), "evaluation should run under torch.no_grad()")
    order = [c[2] for c in model.calls]
    expected = (["train"] * n_train + ["test"] * n_test) * epochs
    expect(order == expected, "each epoch should train on all training batches, then evaluate on the test batches")


@check("ex4_hidden_metrics")
def metrics(ns):
    epochs = 3
    Xtr, ytr, Xte, yte = _data(43, n_train=50, n_test=33)
    torch.manual_seed(43)
    base = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))

    def loaders():  # the same shuffles for both runs; uneven last batches (50 = 3 x 16 + 2, 33 = 20 + 13)
        return (DataLoader(TensorDataset(Xtr, ytr), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(5)),
                DataLoader(TensorDataset(Xte, yte), batch_size=20))

    ref_model, model = copy.deepcopy(base), copy.deepcopy(base)
    want = ref_fit(ref_model, *loaders(), nn.CrossEntropyLoss(), torch.optim.Adam(ref_model.parameters(), lr=0.02), epochs, "cpu")
    got = _call_fit(ns, model, *loaders(), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02), epochs, "cpu")
    _check_history(got, epochs)
    hints = {
        "train_loss": "the mean of the batch losses of the epoch's training batches (loss.item()), one optimiser step per batch",
        "test_loss": "the mean of the test batches' losses, measured after the epoch's training",
        "test_acc": "correct predictions / number of test samples (not the mean of per-batch accuracies)",
    }
    for key in KEYS:
        for epoch in range(epochs):
            g, w = got[key][epoch], want[key][epoch]
            if not P.close(g, w, rtol=1e-5, atol=1e-7):
                raise CheckFailed(f"{key} in epoch {epoch + 1} should be {w:.6g}, got {g:.6g}: {hints[key]}")
