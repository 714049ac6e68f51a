"""The visible tests' inputs, as the kernel runs them (the kernel's side of visible.py).

The grader sends this file's text into the grading kernel as a fixture (_probe.py). Each function
builds what the visible test cell builds, from the notebook's own names, calls the student's code
and returns plain data: numbers, type facts, and tensors described (`describe`, which the probe
gives every fixture). The verdict is reached outside, in visible.py, with the visible test's own
messages. Nothing here holds an expected value, so it may be read in the kernel; a submission
that replaces it only changes the data it hands back.
"""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler, TensorDataset


def _name(ns, name):
    if name not in ns:
        raise NameError(f"name {name!r} is not defined")
    return ns[name]


def _layer(module, name):
    sub = getattr(module, name, None)
    linear = isinstance(sub, nn.Linear)
    return {"linear": linear, "relu": isinstance(sub, nn.ReLU),
            "features": [sub.in_features, sub.out_features] if linear else None,
            "weight": describe(sub.weight) if linear else None,  # noqa: F821 (the probe's describe)
            "bias": describe(sub.bias) if linear else None}  # noqa: F821


def architecture(ns, x):
    """SimpleMLP(7, 5, 3): its sub-modules, and its output for the grader's batch `x` (4 x 7)."""
    m = _name(ns, "SimpleMLP")(7, 5, 3)
    out = {"is_module": isinstance(m, nn.Module), **{name: _layer(m, name) for name in ("fc1", "relu", "fc2")}}
    try:  # the visible test reads the sub-modules first: their messages come before the forward's error
        out["output"] = describe(m(torch.tensor(x, dtype=torch.float32)))  # noqa: F821
    except Exception as e:
        out["output"], out["forward_error"] = None, f"{type(e).__name__}: {str(e)[:300]}"
    return out


def count(ns):
    """count_parameters of SimpleMLP(10, 50, 2), of SimpleMLP(3, 4, 2), and of one with fc1 frozen."""
    count_parameters, simple_mlp = _name(ns, "count_parameters"), _name(ns, "SimpleMLP")
    big = count_parameters(simple_mlp(10, 50, 2))
    small = count_parameters(simple_mlp(3, 4, 2))
    frozen = simple_mlp(3, 4, 2)
    frozen.fc1.requires_grad_(False)
    return {"big": describe(big), "small": describe(small), "frozen": describe(count_parameters(frozen))}  # noqa: F821


def tensors(ns):
    """Cell 3's four tensors, described."""
    return {name: describe(_name(ns, name)) for name in ("X_train", "X_test", "y_train", "y_test")}  # noqa: F821


def loaders(ns):
    """Cell 3's loaders: their lengths, batch sizes and samplers."""
    train, test = _name(ns, "train_loader"), _name(ns, "test_loader")
    return {"len_train": len(train), "batch_sizes": [train.batch_size, test.batch_size],
            "train_random": isinstance(train.sampler, RandomSampler),
            "test_sequential": isinstance(test.sampler, SequentialSampler), "len_test_data": len(test.dataset)}


def wine(ns):
    """MyTabularDataset on the shipped wine files: lengths, the first item, the statistics, every x."""
    dataset = _name(ns, "MyTabularDataset")
    tr = dataset("data/wine_train.csv")
    te = dataset("data/wine_test.csv", mean=tr.mean, std=tr.std)
    out = {"lengths": [len(tr), len(te)]}
    if out["lengths"] != [124, 54]:  # the visible test stops here
        return out
    x, y = tr[0]
    out.update(x=describe(x), y=describe(y), y_dim=y.dim() if isinstance(y, torch.Tensor) else None,  # noqa: F821
               mean=describe(tr.mean), test_mean=describe(te.mean))  # noqa: F821
    try:  # the visible test checks the types first: their messages come before stack's error
        out["features"] = describe(torch.stack([tr[i][0] for i in range(len(tr))]))  # noqa: F821
    except Exception as e:
        out["features"], out["stack_error"] = None, f"{type(e).__name__}: {str(e)[:300]}"
    return out


def gradients(ns, sets):
    """manual_gradients(w1, w2, b, x1, x2) for each set of values, as floats and as 0-d float64
    tensors, called under torch.inference_mode() (no graph can be built there); what float() makes
    of each of its values, or the RuntimeError it raised."""
    manual_gradients = _name(ns, "manual_gradients")
    out = []
    for values in sets:
        for args in (list(values), [torch.tensor(v, dtype=torch.float64) for v in values]):
            with torch.inference_mode():
                try:
                    got = manual_gradients(*args)
                except RuntimeError as e:
                    return out + [{"runtime_error": str(e)[:300]}]
            if len(got) != 3:  # the visible test stops here
                return out + [{"length": len(got)}]
            out.append({"length": 3, "floats": [float(v) for v in got]})
    return out


def structure(ns):
    """compare_schedulers on the visible test's small run (4 epochs, lr 0.01, seed 3), described."""
    X_train, y_train, X_test, y_test = (_name(ns, n) for n in ("X_train", "y_train", "X_test", "y_test"))
    simple_mlp = _name(ns, "SimpleMLP")
    tiny_train = DataLoader(TensorDataset(X_train[:64], y_train[:64]), batch_size=16)
    tiny_test = DataLoader(TensorDataset(X_test[:32], y_test[:32]), batch_size=16)
    runs = _name(ns, "compare_schedulers")(lambda: simple_mlp(10, 6, 2), tiny_train, tiny_test, epochs=4, lr=0.01, seed=3)
    return describe(runs)  # noqa: F821


# --- Exercise 3: accumulated_step on a network and data the grader chose ---

def net_with(weights):
    """A 10-12-2 MLP holding the grader's weights (a network of the fixture's own: a mistake in
    Cell 2 costs Cell 2, not Exercise 3). visible.py builds its reference steps with it too."""
    net = nn.Sequential(nn.Linear(10, 12), nn.ReLU(), nn.Linear(12, 2))
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(torch.tensor(w, dtype=torch.float32))
    return net


def _parameters(model):
    return [describe(p) for p in model.parameters()]  # noqa: F821


def _batch(x, y):
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def full_batch(ns, weights, x, y):
    """accumulated_step with SGD(lr 0.1) and Adam(lr 0.01), accumulation_steps 1, 2 and 4: the parameters after each."""
    step, (X, Y), out = _name(ns, "accumulated_step"), _batch(x, y), []
    for make in (lambda p: torch.optim.SGD(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.01)):
        for k in (1, 2, 4):
            model = net_with(weights)
            step(model, nn.CrossEntropyLoss(), make(model.parameters()), X, Y, k)
            out.append(_parameters(model))
    return out


def stale_gradients(ns, weights, x, y):
    """accumulated_step (SGD, 4 micro-batches) on a model whose .grad holds 100 everywhere, counting
    optimizer.step() calls, and the same call on the same model without stale gradients."""
    step, (X, Y) = _name(ns, "accumulated_step"), _batch(x, y)
    model = net_with(weights)
    for p in model.parameters():
        p.grad = torch.full_like(p, 100.0)
    steps = []
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.step = (lambda f: lambda *a, **k: (steps.append("step"), f(*a, **k))[1])(optimizer.step)
    step(model, nn.CrossEntropyLoss(), optimizer, X, Y, 4)
    if len(steps) != 1:  # the visible test stops here
        return {"steps": len(steps)}
    fresh = net_with(weights)
    step(fresh, nn.CrossEntropyLoss(), torch.optim.SGD(fresh.parameters(), lr=0.1), X, Y, 4)
    return {"steps": 1, "stale": _parameters(model), "fresh": _parameters(fresh)}


def returned_loss(ns, weights, x, y):
    """What accumulated_step (SGD, 3 micro-batches) returns."""
    import numpy

    model, (X, Y) = net_with(weights), _batch(x, y)
    got = _name(ns, "accumulated_step")(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), X, Y, 3)
    return {"got": describe(got), "numpy": isinstance(got, numpy.generic)}  # noqa: F821


# --- Exercise 4 ---

def basic(ns):
    """get_device() on this kernel (with what torch says is available here), and fit on the visible
    test's small CPU run: its history, described, and every forward pass's (mode, grad mode, batch size)."""
    device = _name(ns, "get_device")()
    out = {"is_device": isinstance(device, torch.device), "type_name": type(device).__name__,
           "device_type": device.type if isinstance(device, torch.device) else None,
           "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not out["is_device"]:
        return out
    X_train, y_train, X_test, y_test = (_name(ns, n) for n in ("X_train", "y_train", "X_test", "y_test"))
    torch.manual_seed(4)
    model = _name(ns, "SimpleMLP")(10, 8, 2)
    passes = []
    hook = model.register_forward_hook(
        lambda mod, inp, output: passes.append([mod.training, torch.is_grad_enabled(), int(inp[0].shape[0])]))
    try:
        history = _name(ns, "fit")(
            model, DataLoader(TensorDataset(X_train[:64], y_train[:64]), batch_size=16),
            DataLoader(TensorDataset(X_test[:40], y_test[:40]), batch_size=20),
            nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-2), 3, "cpu")
    finally:
        hook.remove()
    out.update(history=describe(history), passes=passes)  # noqa: F821
    return out
