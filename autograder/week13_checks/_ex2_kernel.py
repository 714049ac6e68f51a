"""Exercise 2's inputs, and the one call of the student's compare_schedulers, as the kernel runs them.

The grader sends this file's text (after _reference.py's) into the grading kernel as a fixture
(_probe.py), and imports the same file itself to compute the expected runs (ex2.py): both sides
build the same network, the same data and the same loaders. What comes back from the kernel is
plain data (`describe`); no expected value is in this file.

The loaders serve their batches in a fixed order and draw from their own generator, so what is
compared does not depend on how many random numbers a student's extra work draws (e.g. an extra
pass over the training loader to log its accuracy). While the student's `compare_schedulers` runs,
the notebook's `train_epoch` and `evaluate` are the reference ones (_reference.py), so a mistake in
Cell 4 costs points in Cell 4 only, and a `train_epoch` that returns constants cannot make a wrong
`compare_schedulers` look right.
"""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

try:
    from ._reference import evaluate, train_epoch
except ImportError:  # run from its text in the kernel: _reference.py's text defined them before
    pass


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 9), nn.Tanh(), nn.Linear(9, 3))

    def forward(self, x):
        return self.body(x)


class FixedOrder(Sampler):
    """A shuffled order that is the same on every pass: extra passes draw no random numbers."""

    def __init__(self, n):
        self.order = torch.randperm(n, generator=torch.Generator().manual_seed(77)).tolist()

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def loaders():
    g = torch.Generator().manual_seed(1313)
    X = torch.randn(90, 6, generator=g)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).long() + (X[:, 3] > 1).long()
    # 60 training rows in batches of 16 (16, 16, 16, 12); 30 test rows in batches of 20 (20, 10).
    return (DataLoader(TensorDataset(X[:60], y[:60]), batch_size=16, sampler=FixedOrder(60),
                       generator=torch.Generator().manual_seed(0)),
            DataLoader(TensorDataset(X[60:], y[60:]), batch_size=20, generator=torch.Generator().manual_seed(0)))


def initial_weights(model):
    return [p.detach().tolist() for p in model.parameters()]


class Logged(TensorDataset):
    """A TensorDataset that records the index of every row it serves."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.served = []

    def __getitem__(self, index):
        self.served.append(int(index))
        return super().__getitem__(index)


def student_run(ns, record_models=False, shuffled=False, noise=False, **kwargs):
    """compare_schedulers(make_model, train_loader, test_loader, **kwargs) of the notebook, with the
    reference train_epoch and evaluate in its namespace while it runs (the student's own restored
    afterwards). Plain data back: the result described, the initial weights of every model it made
    (record_models), the rows a shuffled training loader served (shuffled)."""
    train_loader, test_loader = loaders()
    made, logged = [], None
    if shuffled:  # a loader shuffled by the global generator, as Cell 3's is
        logged = Logged(*train_loader.dataset.tensors)
        train_loader = DataLoader(logged, batch_size=16, shuffle=True)

    def make_model():
        model = Net()
        made.append(initial_weights(model))
        return model

    if noise:  # the global generator's state before the call must not matter
        torch.manual_seed(999)
        torch.rand(7)
    fn = ns["compare_schedulers"]
    saved = {name: ns.get(name) for name in ("train_epoch", "evaluate")}
    ns["train_epoch"], ns["evaluate"] = train_epoch, evaluate
    try:
        result = fn(make_model, train_loader, test_loader, **kwargs)
    finally:
        ns.update(saved)
    return {"result": describe(result),  # noqa: F821  (the probe gives every fixture its describe)
            "initial": made if record_models else None,
            "served": logged.served if logged is not None else None}
