"""Exercise 4's inputs and observations, as the kernel runs them.

The grader sends this file's text into the grading kernel as a fixture (_probe.py) and imports the
same file itself for the inputs of its reference runs (ex4.py): both sides build the same data,
loaders and initial weights. Each function at the end calls the student's code and returns plain
data: what fit returned (described), and what the kernel observed while it ran.

"Device-agnostic" is observed without a GPU by following every batch: fit gets real DataLoaders
whose batches are registered as they are made, and a torch function mode follows them through
every torch operation (a reshape, a dtype change, `.to(device)`, `.to(device, non_blocking=True)`,
`torch.as_tensor(x, device=device)`, ...), remembering the device each was last moved to. The
model records its mode, the grad mode and that record at every forward call, and whether backward
reached that call (so an extra logging pass over a loader is told apart from training). These
observations are made inside the student's interpreter (on a CPU, moving a batch to the CPU
changes no number), so a submission set on it could forge them: the exercise text and the README
say so. What fit computes (its history) is compared with a reference run outside the kernel.
"""

import contextlib
import io
import linecache

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils.data import DataLoader, Sampler, TensorDataset
from torch.utils.data import default_collate
from torch.utils.weak import WeakIdKeyDictionary

KEYS = ("train_loss", "test_loss", "test_acc")

_MOVES = {torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda, torch.as_tensor, torch.asarray, torch.tensor}


def _device_arg(args, kwargs):
    """The device a Tensor.to / Module.to call asks for, or None (a dtype-only call)."""
    candidates = list(args) + ([kwargs["device"]] if "device" in kwargs else [])
    for a in candidates:
        if isinstance(a, (str, torch.device)):
            return torch.device(a)
        if type(a) is int:
            return torch.device("cuda", a)
        if isinstance(a, torch.Tensor):
            return a.device
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
    elif depth < 3 and isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item, depth + 1)
    elif depth < 3 and isinstance(obj, dict):
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
    return ns["fit"](model, train, test, criterion, optimizer, epochs, device)


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


def _fake_accelerators(cuda, mps):
    """(object, attribute, stand-in) for every documented way to ask which accelerator there is."""
    current = torch.device("cuda") if cuda else torch.device("mps") if mps else None
    fakes = [(torch.cuda, "is_available", lambda: cuda), (torch.cuda, "device_count", lambda: 1 if cuda else 0),
             (torch.backends.mps, "is_available", lambda: mps), (torch.backends.mps, "is_built", lambda: mps)]
    if hasattr(torch, "mps") and hasattr(torch.mps, "device_count"):
        fakes.append((torch.mps, "device_count", lambda: 1 if mps else 0))
    if hasattr(torch, "accelerator"):
        fakes += [(torch.accelerator, "is_available", lambda: current is not None),
                  (torch.accelerator, "current_accelerator", lambda *a, **k: current),
                  (torch.accelerator, "device_count", lambda: 0 if current is None else 1)]
    # what a correct get_device may ask about the GPU it found (it prints its name, say)
    for name, answer in (("get_device_name", "the grader's stand-in GPU"), ("current_device", 0),
                         ("get_device_capability", (8, 0))):
        if hasattr(torch.cuda, name):
            fakes.append((torch.cuda, name, (lambda a: lambda *args, **kwargs: a)(answer)))
    return fakes


def _as_defined_now(fn, ns):
    """get_device as its cell defines it when the cell runs now. A device decided once (a
    module-level DEVICE, @functools.lru_cache, `from torch.cuda import is_available`) is then
    decided under the stand-ins as it would be on that machine. The cell's text is the one
    IPython ran (linecache); if it cannot run again, the function as it is."""
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
    lines = linecache.getlines(code.co_filename) if code is not None else []
    if not lines:
        return fn
    scope = dict(ns)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile("".join(lines), code.co_filename, "exec"), scope)
    except Exception:
        return fn
    again = scope.get("get_device")
    return again if callable(again) else fn




def _where(device):
    return None if device is None else str(device)


def _calls(run):
    return [[bool(t), bool(g), s, _where(m), bool(r)] for t, g, s, m, r in run.model.calls]


def _fit_or_cuda_error(ns, run, epochs, device):
    """fit on a recording run; a CUDA error while fit was given another device comes back as data."""
    try:
        return run.fit(ns, epochs, device), None
    except Exception as e:
        if torch.device(device).type != "cuda" and "cuda" in str(e).lower():
            return None, type(e).__name__
        raise


def device_choices(ns):
    """get_device() under stand-ins for each (cuda, mps) availability: what it returned each time."""
    fn = ns["get_device"]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in _fake_accelerators(False, False)]
    out = []
    try:
        # (True, True) cannot happen in one PyTorch build; cuda first is what the exercise asks.
        for cuda, mps in ((True, True), (True, False), (False, True), (False, False)):
            for obj, name, fake in _fake_accelerators(cuda, mps):
                setattr(obj, name, fake)
            got = _as_defined_now(fn, ns)()
            out.append({"is_device": type(got) is torch.device, "type_name": type(got).__name__,
                        "device_type": got.type if type(got) is torch.device else None})
            if type(got) is not torch.device:
                break
    finally:
        for obj, name, real in saved:
            setattr(obj, name, real)
    return out


def moves(ns, seed, epochs, device, as_device=False):
    """fit on a recording run: where the model and every batch were moved."""
    run = _Run(seed)
    _, cuda_error = _fit_or_cuda_error(ns, run, epochs, torch.device(device) if as_device else device)
    return {"cuda_error": cuda_error, "to_calls": [_where(d) for d in run.model.to_calls], "calls": _calls(run),
            "targets": [[s, _where(m)] for s, m in run.criterion.targets]}


def given_device(ns):
    """fit given "cpu" while get_device() answers "meta": every device it moved things to."""
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
    return [str(d) for d in run.devices_used()]


def modes(ns, epochs):
    """fit on a recording run: every forward call's mode, grad mode, split and whether backward reached it."""
    run = _Run(42)
    _, cuda_error = _fit_or_cuda_error(ns, run, epochs, "cpu")
    return {"cuda_error": cuda_error, "calls": _calls(run), "n_train": len(run.train), "n_test": len(run.test)}


def metrics_model():
    torch.manual_seed(43)
    return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2))


def metrics_loaders():
    """The same order on every pass; uneven last batches (50 = 3 x 16 + 2, 33 = 20 + 13)."""
    Xtr, ytr, Xte, yte = _data(43, n_train=50, n_test=33)
    return _loader(Xtr, ytr, 16, seed=5), _loader(Xte, yte, 20)


def metrics_run(ns, epochs):
    """fit of the notebook on fixed data, initial weights and Adam(lr=0.02): its history, described."""
    model = metrics_model()
    try:
        history = ns["fit"](model, *metrics_loaders(), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02),
                            epochs, "cpu")
    except Exception as e:
        if "cuda" in str(e).lower():
            return {"cuda_error": type(e).__name__}
        raise
    return {"cuda_error": None, "history": describe(history)}  # noqa: F821  (the probe gives every fixture its describe)


def device_model():
    torch.manual_seed(41)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))


def device_loaders():
    Xtr, ytr, Xte, yte = _data(41)
    return DataLoader(TensorDataset(Xtr, ytr), batch_size=16), DataLoader(TensorDataset(Xte, yte), batch_size=20)


def device_run(ns, device):
    """fit for real on `device` (a GPU): its history, described, and the devices of the model's parameters."""
    model = device_model()
    history = ns["fit"](model, *device_loaders(), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                        2, device)
    return {"history": describe(history),  # noqa: F821
            "parameter_devices": sorted({p.device.type for p in model.parameters()})}
