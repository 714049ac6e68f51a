"""Hidden tests for Exercise 4: get_device and fit.

"Device-agnostic" is tested without a GPU by following every batch: fit gets
real DataLoaders whose batches are registered as they are made, and a torch
function mode follows them through every torch operation (a reshape, a dtype
change, `.to(device)`, `.to(device, non_blocking=True)`,
`torch.as_tensor(x, device=device)`, ...), remembering the device each was
last moved to. The model records its mode, the grad mode and that record at
every forward call, and whether backward reached that call (so an extra
logging pass over a loader is told apart from training). When CUDA is
available, the real CUDA path is run and compared too.
"""

import contextlib
import copy
import io
import linecache
from itertools import groupby

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils.data import DataLoader, Sampler, TensorDataset
from torch.utils.data import default_collate
from torch.utils.weak import WeakIdKeyDictionary

from . import _pristine as P
from ._pristine import getattr, isinstance, len, list, range, sorted, type
from ._report import CheckFailed, expect, expect_floats_per_epoch, is_mapping
from ._reference import fit as ref_fit

KEYS = ("train_loss", "test_loss", "test_acc")

_MOVES = {torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda, torch.as_tensor, torch.asarray, torch.tensor}


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


def _move_target(func, args, kwargs):
    if func is torch.Tensor.cpu:
        return torch.device("cpu")
    if func is torch.Tensor.cuda:
        return torch.device("cuda")
    if func is torch.Tensor.to:
        return _device_arg(args[1:], kwargs)
    device = kwargs.get("device")
    return torch.device(device) if device is not None else None


def _tensors(obj, depth=0):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif depth < 3 and isinstance(obj, (P.list, P.tuple)):
        for item in obj:
            yield from _tensors(item, depth + 1)
    elif depth < 3 and isinstance(obj, P.dict):
        for item in obj.values():
            yield from _tensors(item, depth + 1)


class _Follow(TorchFunctionMode):
    """While active, follows registered batches through every torch operation: each result of
    an operation on a batch gets the batch's (split, device it was last moved to)."""

    def __init__(self):
        super().__init__()
        self.marks = WeakIdKeyDictionary()

    def mark(self, batch, split):
        for t in _tensors(batch):
            self.marks[t] = (split, None)
        return batch

    def of(self, t):
        return self.marks.get(t) if isinstance(t, torch.Tensor) else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        source = next((m for m in (self.of(t) for t in _tensors(args)) if m is not None), None)
        if source is None:
            source = next((m for m in (self.of(t) for t in _tensors(kwargs)) if m is not None), None)
        if source is not None:
            target = _move_target(func, args, kwargs) if func in _MOVES else None
            mark = (source[0], target if target is not None else source[1])
            for t in _tensors(out):
                self.marks[t] = mark
        return out


class _FixedOrder(Sampler):
    """The same shuffled-looking order on every pass: extra passes draw no random numbers."""

    def __init__(self, n, seed):
        self.order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def _loader(X, y, batch_size, split=None, follow=None, seed=None):
    """A real DataLoader; with `follow`, every batch it makes is registered as coming from `split`."""
    collate = default_collate if follow is None else (lambda batch: follow.mark(default_collate(batch), split))
    sampler = _FixedOrder(len(y), seed) if seed is not None else None
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, sampler=sampler, collate_fn=collate,
                      generator=torch.Generator().manual_seed(0))


class _Net(nn.Module):
    """A small classifier that records every forward call and every .to() call."""

    def __init__(self, follow):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
        self.follow = follow
        self.calls = []  # [training, grad enabled, split, moved to, reached by backward]
        self.to_calls = []

    def to(self, *args, **kwargs):
        self.to_calls.append(_device_arg(args, kwargs))
        return super().to(*args, **kwargs)

    def forward(self, x):
        split, moved = self.follow.of(x) or (None, None)
        call = [self.training, torch.is_grad_enabled(), split, moved, False]
        self.calls.append(call)
        out = self.body(x)
        if out.requires_grad:
            out.register_hook(lambda grad: call.__setitem__(4, True) or grad)
        return out


class _Loss(nn.CrossEntropyLoss):
    """Cross-entropy that records where each target batch was moved."""

    def __init__(self, follow):
        super().__init__()
        self.follow = follow
        self.targets = []

    def forward(self, input, target):
        self.targets.append(self.follow.of(target) or (None, None))
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


class _Run:
    """A recording model and loss, followed loaders and an optimiser, for one fit call."""

    def __init__(self, seed):
        Xtr, ytr, Xte, yte = _data(seed)
        self.follow = _Follow()
        torch.manual_seed(seed)
        self.model, self.criterion = _Net(self.follow), _Loss(self.follow)
        self.train = _loader(Xtr, ytr, 16, "train", self.follow, seed=seed)  # batches of 16, 16, 12
        self.test = _loader(Xte, yte, 20, "test", self.follow)  # batches of 20, 10
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)

    def fit(self, ns, epochs, device, call=None):
        with self.follow:
            return (call or _call_fit)(ns, self.model, self.train, self.test, self.criterion, self.optimizer,
                                       epochs, device)

    def devices_used(self):
        """Every device fit moved the model, an input batch or a target batch to."""
        moved = list(self.model.to_calls) + [c[3] for c in self.model.calls] + [t[1] for t in self.criterion.targets]
        return [d for d in moved if d is not None]


def _check_history(history, epochs):
    expect(is_mapping(history), f"fit should return a dict, got {type(history).__name__}")
    keys = sorted(P.list(history.keys())) if P.all(type(k) is P.str for k in history) else None
    expect(keys is not None and P.all(k in keys for k in KEYS),
           f"fit should return the keys {sorted(KEYS)} (more keys are fine), got {keys}")
    for key in KEYS:
        expect_floats_per_epoch(history[key], epochs, f"history[{key!r}]", lambda v: " (use loss.item())")


def _fake_accelerators(cuda, mps):
    """(object, attribute, stand-in) for every documented way to ask which accelerator there is."""
    current = torch.device("cuda") if cuda else torch.device("mps") if mps else None
    fakes = [(torch.cuda, "is_available", lambda: cuda), (torch.cuda, "device_count", lambda: 1 if cuda else 0),
             (torch.backends.mps, "is_available", lambda: mps), (torch.backends.mps, "is_built", lambda: mps)]
    if P.hasattr(torch, "mps") and P.hasattr(torch.mps, "device_count"):
        fakes.append((torch.mps, "device_count", lambda: 1 if mps else 0))
    if P.hasattr(torch, "accelerator"):
        fakes += [(torch.accelerator, "is_available", lambda: current is not None),
                  (torch.accelerator, "current_accelerator", lambda *a, **k: current),
                  (torch.accelerator, "device_count", lambda: 0 if current is None else 1)]
    # what a correct get_device may ask about the GPU it found (it prints its name, say)
    for name, answer in (("get_device_name", "the grader's stand-in GPU"), ("current_device", 0),
                         ("get_device_capability", (8, 0))):
        if P.hasattr(torch.cuda, name):
            fakes.append((torch.cuda, name, (lambda a: lambda *args, **kwargs: a)(answer)))
    return fakes


def _as_defined_now(fn, ns):
    """get_device as its cell defines it when the cell runs now. A device decided once (a
    module-level DEVICE, @functools.lru_cache, `from torch.cuda import is_available`) is then
    decided under the stand-ins as it would be on that machine. The cell's text is the one
    IPython ran (linecache); if it cannot run again, the function as it is."""
    code = P.getattr(P.getattr(fn, "__wrapped__", fn), "__code__", None)
    lines = linecache.getlines(code.co_filename) if code is not None else []
    if not lines:
        return fn
    scope = P.dict(ns)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            P.exec(P.compile("".join(lines), code.co_filename, "exec"), scope)
    except Exception:
        return fn
    again = scope.get("get_device")
    return again if P.callable(again) else fn


def get_device(ns):
    fn = ns["get_device"]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in _fake_accelerators(False, False)]
    try:
        # (True, True) cannot happen in one PyTorch build; cuda first is what the exercise asks.
        for cuda, mps, want in ((True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")):
            for obj, name, fake in _fake_accelerators(cuda, mps):
                P.setattr(obj, name, fake)
            got = _as_defined_now(fn, ns)()
            expect(type(got) is torch.device, f"get_device should return a torch.device, got {type(got).__name__}")
            expect(got.type == want, f"with cuda available={cuda} and mps available={mps}, get_device should pick "
                                     f"{want!r}, got {got.type!r} (check cuda first, then mps, then cpu)")
    finally:
        for obj, name, real in saved:
            P.setattr(obj, name, real)


def moves_to_device(ns):
    for device in ("cpu", torch.device("cpu")):
        run = _Run(40)
        run.fit(ns, 2, device)  # what fit returns is judged by ex4_hidden_metrics
        expect(P.any(d == torch.device("cpu") for d in run.model.to_calls),
               f"fit should move the model with model.to(device) (device given as {device!r})")
        expect(len(run.model.calls) > 0, "fit should call the model on the batches")
        for _, _, split, moved, _ in run.model.calls:
            expect(moved == torch.device("cpu"),
                   f"every {split} batch should be moved inside the loop with batch_x.to(device) "
                   f"before calling the model (device given as {device!r})")
        for split, moved in run.criterion.targets:
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
    run = _Run(44)
    had, saved = "get_device" in ns, ns.get("get_device")
    ns["get_device"] = lambda: torch.device("meta")
    try:
        run.fit(ns, 1, "cpu", call=lambda ns, *args: ns["fit"](*args))
    except Exception:  # a fit that moved things to "meta" fails on the way; what it moved is recorded
        pass
    finally:
        if had:
            ns["get_device"] = saved
        else:
            ns.pop("get_device", None)
    elsewhere = [d for d in run.devices_used() if d.type != "cpu"]
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


def eval_mode(ns):
    epochs = 3
    run = _Run(42)
    run.fit(ns, epochs, "cpu")
    n_train, n_test = len(run.train), len(run.test)
    trained = [c for c in run.model.calls if c[4]]  # calls whose output backward reached
    test_calls = [c for c in run.model.calls if c[2] == "test"]
    expect(P.all(c[2] == "train" for c in trained), "fit should train on the training batches only")
    expect(len(trained) == epochs * n_train,
           f"fit should train (backward, one step per batch) on every training batch in each of the {epochs} epochs")
    # an extra evaluation (before training, say) is fine; each epoch must end with a whole test pass
    expect(len(test_calls) >= epochs * n_test and len(test_calls) % n_test == 0,
           "fit should evaluate on every test batch after each epoch")
    expect(P.all(c[0] for c in trained),
           "training should run in model.train() mode in every epoch (call model.train() at the start of each epoch, "
           "since evaluation switched to eval mode)")
    expect(not P.any(c[0] for c in test_calls), "evaluation should run in model.eval() mode")
    expect(not P.any(c[1] for c in test_calls), "evaluation should run under torch.no_grad()")
    order = ["train" if c[4] else "test" for c in run.model.calls if c[4] or c[2] == "test"]
    runs = [(kind, len(list(calls))) for kind, calls in groupby(order)]  # alternating train and test runs
    if runs and runs[0][0] == "test":  # an evaluation before training
        runs = runs[1:]
    trains, tests = runs[0::2], runs[1::2]
    expect(len(trains) == len(tests) == epochs and P.all(t == ("train", n_train) for t in trains)
           and P.all(n % n_test == 0 for _, n in tests),
           "each epoch should train on all training batches, then evaluate on the test batches")


def metrics(ns):
    epochs = 3
    Xtr, ytr, Xte, yte = _data(43, n_train=50, n_test=33)
    torch.manual_seed(43)
    base = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))

    def loaders():  # the same order on every pass; uneven last batches (50 = 3 x 16 + 2, 33 = 20 + 13)
        return _loader(Xtr, ytr, 16, seed=5), _loader(Xte, yte, 20)

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


# The checks that run inside the grading kernel, by grade id (they read the notebook's namespace).
IN_KERNEL_CHECKS = {
    "ex4_hidden_get_device": get_device,
    "ex4_hidden_moves_to_device": moves_to_device,
    "ex4_hidden_eval_mode": eval_mode,
    "ex4_hidden_metrics": metrics,
}
