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

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from . import _pristine as P
from ._pristine import list, range, sorted, type
from ._report import CheckFailed, expect, expect_floats_per_epoch, is_mapping
from ._reference import evaluate as ref_evaluate
from ._reference import train_epoch as ref_train_epoch
from . import check

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


def student_run(ns, **kwargs):
    """Call the notebook's compare_schedulers with reference train_epoch/evaluate in place; validate the shape."""
    fn = ns["compare_schedulers"]
    train_loader, test_loader = _loaders()
    saved = {name: ns.get(name) for name in ("train_epoch", "evaluate")}
    ns["train_epoch"], ns["evaluate"] = ref_train_epoch, ref_evaluate
    try:
        result = fn(_Net, train_loader, test_loader, **kwargs)
    finally:
        ns.update(saved)
    epochs = kwargs.get("epochs", 50)
    expect(is_mapping(result), f"compare_schedulers should return a dict, got {type(result).__name__}")
    keys = sorted(P.list(result.keys())) if all_str(result) else None
    expect(keys == sorted(RUNS), f"compare_schedulers should return the keys 'constant' and 'cosine', got {keys}")
    for run in RUNS:
        h = result[run]
        expect(is_mapping(h), f"result[{run!r}] should be a dict of lists, got {type(h).__name__}")
        for key in KEYS:
            expect(key in h, f"result[{run!r}] is missing the key {key!r}")
            expect_floats_per_epoch(h[key], epochs, f"result[{run!r}][{key!r}]", _float_hint)
    return result


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


@check("ex2_hidden_lr")
def lr_schedule(ns):
    epochs, lr = 7, 0.02
    got = student_run(ns, epochs=epochs, lr=lr, seed=5)
    for run in RUNS:
        compare(got[run], reference(epochs, lr, 5, run == "cosine"), run, ("lr",), f"epochs={epochs}, lr={lr}")


@check("ex2_hidden_constant")
def constant_run(ns):
    got = student_run(ns, epochs=5, lr=0.01, seed=11)
    compare(got["constant"], reference(5, 0.01, 11, False), "constant", KEYS[1:], "epochs=5, lr=0.01, seed=11")


@check("ex2_hidden_cosine")
def cosine_run(ns):
    got = student_run(ns, epochs=6, lr=0.03, seed=12)
    compare(got["cosine"], reference(6, 0.03, 12, True), "cosine", KEYS[1:], "epochs=6, lr=0.03, seed=12")


@check("ex2_hidden_arguments")
def arguments(ns):
    got = student_run(ns, epochs=3)  # lr and seed left at their defaults, 1e-3 and 0
    for run in RUNS:
        compare(got[run], reference(3, 1e-3, 0, run == "cosine"), run, KEYS, "epochs=3 and the default lr and seed")
    a = student_run(ns, epochs=2, lr=0.05, seed=21)
    torch.manual_seed(999)  # the global generator's state before the call must not matter
    torch.rand(7)
    b = student_run(ns, epochs=2, lr=0.05, seed=21)
    for run in RUNS:
        expect(P.all(P.close(x, y, rtol=0, atol=0) for x, y in P.zip(a[run]["train_loss"], b[run]["train_loss"])),
               f"two calls with the same seed should give identical {run} runs (reseed inside compare_schedulers)")
    expect(P.close(a["constant"]["train_loss"][0], a["cosine"]["train_loss"][0], rtol=0, atol=1e-7),
           "both runs should start from the same weights and shuffles: call torch.manual_seed(seed) before each run")
    other = student_run(ns, epochs=2, lr=0.05, seed=22)
    expect(not P.close(other["constant"]["train_loss"][0], a["constant"]["train_loss"][0], rtol=0, atol=1e-9),
           "a different seed should give a different run (use the seed argument)")
