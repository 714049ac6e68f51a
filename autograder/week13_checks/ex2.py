"""Hidden tests for Exercise 2: compare_schedulers.

The reference runs are computed here, with this module's own `train_epoch`
and `evaluate` (the contract's definitions). The loaders serve their batches
in a fixed order and draw from their own generator, so what is compared does
not depend on how many random numbers a student's extra work draws (e.g. an
extra pass over the training loader to log its accuracy). While the student's
`compare_schedulers` runs, the notebook's `train_epoch` and `evaluate` are
temporarily replaced by the same reference functions, so a mistake in
Cell 4 costs points in Cell 4 only, and a `train_epoch` that returns
constants cannot make a wrong `compare_schedulers` look right.
"""

import math

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from . import _pristine as P
from ._pristine import isinstance, list, range, sorted, type
from ._report import CheckFailed, expect, is_mapping
from ._reference import evaluate as ref_evaluate
from ._reference import train_epoch as ref_train_epoch

KEYS = ("lr", "train_loss", "test_loss", "test_acc")
RUNS = ("constant", "cosine")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 9), nn.Tanh(), nn.Linear(9, 3))

    def forward(self, x):
        return self.body(x)


class _FixedOrder(Sampler):
    """A shuffled order that is the same on every pass: extra passes draw no random numbers."""

    def __init__(self, n):
        self.order = torch.randperm(n, generator=torch.Generator().manual_seed(77)).tolist()

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def _loaders():
    g = torch.Generator().manual_seed(1313)
    X = torch.randn(90, 6, generator=g)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).long() + (X[:, 3] > 1).long()
    # 60 training rows in batches of 16 (16, 16, 16, 12); 30 test rows in batches of 20 (20, 10).
    return (DataLoader(TensorDataset(X[:60], y[:60]), batch_size=16, sampler=_FixedOrder(60),
                       generator=torch.Generator().manual_seed(0)),
            DataLoader(TensorDataset(X[60:], y[60:]), batch_size=20, generator=torch.Generator().manual_seed(0)))


def reference(epochs, lr, seed, cosine):
    train_loader, test_loader = _loaders()
    torch.manual_seed(seed)
    model = _Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cosine else None
    h = {k: [] for k in KEYS}
    for epoch in range(epochs):
        # The expected rate is the closed form of cosine annealing, not read back from the scheduler.
        h["lr"].append(lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs)) if cosine else lr)
        train_loss, _ = ref_train_epoch(model, train_loader, criterion, optimizer)
        test_loss, test_acc = ref_evaluate(model, test_loader, criterion)
        h["train_loss"].append(train_loss)
        h["test_loss"].append(test_loss)
        h["test_acc"].append(test_acc)
        if scheduler is not None:
            scheduler.step()
    return h


class _Recorder:
    """A make_model that remembers the initial weights of every model it makes."""

    def __init__(self):
        self.initial = []

    def __call__(self):
        net = _Net()
        self.initial.append([P.values(p) for p in net.parameters()])
        return net


def _call_with_reference_loops(ns, *args, **kwargs):
    """The notebook's compare_schedulers(*args, **kwargs), with the reference train_epoch and
    evaluate in the notebook's namespace while it runs (the student's own restored afterwards)."""
    fn = ns["compare_schedulers"]
    saved = {name: ns.get(name) for name in ("train_epoch", "evaluate")}
    ns["train_epoch"], ns["evaluate"] = ref_train_epoch, ref_evaluate
    try:
        return fn(*args, **kwargs)
    finally:
        ns.update(saved)


def student_run(ns, runs=RUNS, keys=KEYS, make_model=_Net, **kwargs):
    """Call the notebook's compare_schedulers with reference train_epoch/evaluate in place.

    Returns {run: {key: list of floats}} for the `runs` and `keys` a check compares, after
    checking only those: a mistake in one key (e.g. the lr recorded as a list) costs the checks
    that compare that key, not every check of the exercise. Values are read as numbers (the
    visible test checks that they are Python floats)."""
    train_loader, test_loader = _loaders()
    result = _call_with_reference_loops(ns, make_model, train_loader, test_loader, **kwargs)
    epochs = kwargs.get("epochs", 50)
    expect(is_mapping(result), f"compare_schedulers should return a dict, got {type(result).__name__}")
    names = sorted(P.list(result.keys())) if all_str(result) else None
    expect(names == sorted(RUNS), f"compare_schedulers should return the keys 'constant' and 'cosine', got {names}")
    out = {}
    for run in runs:
        h = result[run]
        expect(is_mapping(h), f"result[{run!r}] should be a dict of lists, got {type(h).__name__}")
        out[run] = {}
        for key in keys:
            expect(key in h, f"result[{run!r}] is missing the key {key!r}")
            out[run][key] = _per_epoch(h[key], epochs, f"result[{run!r}][{key!r}]")
    return out


def _per_epoch(values, epochs, label):
    """`values` read as `epochs` numbers; a CheckFailed that says what is wrong otherwise."""
    if P.is_plain_tensor(values):
        items = P.values(values)
        items = items if type(items) is list else [items]
    elif type(values) in (list, P.tuple) or isinstance(values, np.ndarray):
        items = list(values)
    else:
        raise CheckFailed(f"{label} should be a list of {epochs} Python floats (one per epoch), "
                          f"got a {type(values).__name__}")
    expect(P.len(items) == epochs, f"{label} should be a list of {epochs} Python floats (one per epoch), "
                                   f"got {P.len(items)} values")
    out = []
    for v in items:
        if type(v) in (P.float, P.int) or isinstance(v, np.number):
            out.append(P.float(v))
        elif P.is_plain_tensor(v) and P.shape_of(v) in ((), (1,)):
            value = P.values(v)
            out.append(P.float(value[0] if type(value) is list else value))
        else:
            raise CheckFailed(f"{label} should hold Python floats, got {type(v).__name__}" + _float_hint(v))
    return out


def all_str(d):
    return P.all(type(k) is P.str for k in d.keys())


def compare(got, want, run, keys, setting):
    for key in keys:
        for epoch, (g, w) in enumerate_pairs(got[key], want[key]):
            if not P.close(g, w, rtol=1e-5, atol=1e-7):
                raise CheckFailed(
                    f"{run} run, {setting}: {key} in epoch {epoch + 1} should be {w:.6g}, got {g:.6g}"
                    + _hint(run, key, epoch))


def enumerate_pairs(a, b):
    return P.enumerate(P.zip(a, b))


def _hint(run, key, epoch):
    if key == "lr" and run == "constant":
        return " (create Adam with lr=lr; the constant run never changes it)"
    if key == "lr" and epoch == 0:
        return (" (create Adam with lr=lr and record optimizer.param_groups[0]['lr'] before training the epoch, "
                "before any scheduler.step())")
    if key == "lr":
        return (" (record the lr before training each epoch; CosineAnnealingLR(optimizer, T_max=epochs), eta_min 0, "
                "stepped once per epoch after that epoch's training)")
    if epoch == 0:
        return (" (for each run: torch.manual_seed(seed), then a new make_model() and a new Adam with lr=lr"
                + ("; step the scheduler once per epoch, not per batch)" if run == "cosine" else ")"))
    if run == "cosine":
        return (" (one train_epoch then one evaluate per epoch; step CosineAnnealingLR(optimizer, T_max=epochs), "
                "eta_min 0, once per epoch after training)")
    return " (one train_epoch then one evaluate per epoch, Adam with lr=lr)"


def _float_hint(v):
    return " (scheduler.get_last_lr() returns a list: take its [0])" if type(v) is list else " (use float(...))"


def lr_schedule(ns):
    epochs, lr = 7, 0.02
    got = student_run(ns, keys=("lr",), epochs=epochs, lr=lr, seed=5)
    for run in RUNS:
        compare(got[run], reference(epochs, lr, 5, run == "cosine"), run, ("lr",), f"epochs={epochs}, lr={lr}")


def constant_run(ns):
    got = student_run(ns, runs=("constant",), keys=KEYS[1:], epochs=5, lr=0.01, seed=11)
    compare(got["constant"], reference(5, 0.01, 11, False), "constant", KEYS[1:], "epochs=5, lr=0.01, seed=11")


def cosine_run(ns):
    got = student_run(ns, runs=("cosine",), keys=KEYS[1:], epochs=6, lr=0.03, seed=12)
    compare(got["cosine"], reference(6, 0.03, 12, True), "cosine", KEYS[1:], "epochs=6, lr=0.03, seed=12")


def arguments(ns):
    """epochs, lr and seed are honoured, and each run is reseeded. Only the constant run's losses
    are compared here, so a mistake in the schedule costs the lr and cosine checks, not this one."""
    got = student_run(ns, runs=("constant",), keys=KEYS[1:], epochs=3)  # lr and seed at their defaults
    compare(got["constant"], reference(3, 1e-3, 0, False), "constant", KEYS[1:], "epochs=3 and the default lr and seed")
    made = _Recorder()
    a = student_run(ns, keys=("train_loss",), make_model=made, epochs=2, lr=0.05, seed=21)
    compare(a["constant"], reference(2, 0.05, 21, False), "constant", ("train_loss",), "epochs=2, lr=0.05, seed=21")
    expect(len(made.initial) == 2, f"compare_schedulers should call make_model() once per run (twice), "
                                   f"called it {len(made.initial)} times")
    torch.manual_seed(21)
    seeded = [P.values(p) for p in _Net().parameters()]
    expect(made.initial[0] == seeded and made.initial[1] == seeded,
           "both runs should start from the weights torch.manual_seed(seed) gives: call torch.manual_seed(seed) "
           "right before make_model() in each run")
    torch.manual_seed(999)  # the global generator's state before the call must not matter
    torch.rand(7)
    b = student_run(ns, runs=("constant",), keys=("train_loss",), epochs=2, lr=0.05, seed=21)
    expect(P.all(P.close(x, y, rtol=0, atol=0) for x, y in P.zip(a["constant"]["train_loss"], b["constant"]["train_loss"])),
           "two calls with the same seed should give identical runs (reseed inside compare_schedulers)")
    other = student_run(ns, runs=("constant",), keys=("train_loss",), epochs=2, lr=0.05, seed=22)
    expect(not P.close(other["constant"]["train_loss"][0], a["constant"]["train_loss"][0], rtol=0, atol=1e-9),
           "a different seed should give a different run (use the seed argument)")
    _same_shuffles(ns)


class _Logged(TensorDataset):
    """A TensorDataset that records the index of every row it serves."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.served = []

    def __getitem__(self, index):
        self.served.append(P.int(index))
        return super().__getitem__(index)


def _same_shuffles(ns):
    """On a loader shuffled by the global generator (as Cell 3's is), both runs must see the same
    shuffles: each reseeds and then trains before the next run reseeds. Extra passes over the
    loader are fine (both runs make them); the runs are compared with each other, in either order."""
    train_loader, test_loader = _loaders()
    X, y = train_loader.dataset.tensors
    logged = _Logged(X, y)
    shuffled = DataLoader(logged, batch_size=16, shuffle=True)
    _call_with_reference_loops(ns, _Net, shuffled, test_loader, epochs=2, lr=0.05, seed=21)
    served = logged.served
    half = P.len(served) // 2
    expect(P.len(served) % 2 == 0 and served[:half] == served[half:],
           "on a shuffled training loader the two runs saw different batches: a DataLoader with shuffle=True "
           "draws its order from the global generator, so call torch.manual_seed(seed) right before each run "
           "and train that run completely before seeding the next")


# The checks that run inside the grading kernel, by grade id (they read the notebook's namespace).
IN_KERNEL_CHECKS = {
    "ex2_hidden_lr": lr_schedule,
    "ex2_hidden_constant": constant_run,
    "ex2_hidden_cosine": cosine_run,
    "ex2_hidden_arguments": arguments,
}
