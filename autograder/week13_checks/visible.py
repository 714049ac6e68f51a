"""The visible tests, decided outside the kernel when grading (issue 18).

A student runs a visible test cell as written (Validate, JupyterLab, the source notebook under
nbval). When grading, the grader does not run it: the check of the same grade id here asks the
kernel to build what the cell builds and to call the student's code (_visible_kernel.py, sent as
text), gets plain data back and decides with the cell's own assertions and messages, against
values computed here (the task's data, the outer sum's algebra, the gradients' formulas). A
correct answer passes both, a wrong one fails both, with the same message; the kernel can only
change the data it hands back, and handing back the right data takes computing it.

Where the cell's assertion compares numbers within a tolerance, the twin uses the same or a
looser one when the cell compares two float32 computations and this side computes in float64.
"""

import math
from pathlib import Path

import numpy as np

from . import _cache
from . import _client as K
from ._report import CheckFailed, expect

# _reference.py first: Exercise 2's twin runs the student's compare_schedulers with its train_epoch and evaluate
SOURCES = tuple((Path(__file__).parent / name).read_text() for name in ("_reference.py", "_visible_kernel.py"))


def _run(k, function, **kwargs):
    data = k.fixture("visible", SOURCES, function, **kwargs)
    expect(type(data) is dict or type(data) is list, "the kernel's answer is not the fixture's data")
    return data


# --- reading described values the way the visible cell's expressions read the objects ---

def _shape(d):
    """tuple(obj.shape) of a tensor or an array; None for anything else."""
    if K.kind(d) in ("tensor", "ndarray") and type(d.get("shape")) is list:
        return tuple(d["shape"])
    return None


def _torch_dtype(d):
    """obj.dtype as torch names it, for a tensor; None for anything else (an array's dtype is no torch dtype)."""
    return K.dtype_of(d) if K.kind(d) == "tensor" else None


def _array(d):
    """The numbers of a tensor or an array, as float64; None when they did not cross."""
    if K.kind(d) not in ("tensor", "ndarray") or "values" not in d:
        return None
    try:
        return np.asarray(d["values"], dtype=np.float64).reshape(_shape(d))
    except (TypeError, ValueError):
        return None


def _number(d):
    """The value of `obj == n` where obj is a plain number, a NumPy scalar, or a one-element tensor
    or array (their comparison is truthy exactly then); None for anything else."""
    if K.kind(d) in ("int", "float", "bool") or (K.kind(d) == "npscalar" and d.get("number")):
        value = d.get("value")
        return value if type(value) in (int, float, bool) else None
    values = _array(d)
    return float(values.reshape(-1)[0]) if values is not None and values.size == 1 else None


def _shown(d):
    """How the cell's f-string would show the value, near enough for a message."""
    if K.kind(d) in ("int", "float", "bool", "str", "none"):
        return repr(d.get("value"))
    if K.kind(d) == "tensor" and "values" in d:
        return f"tensor({d['values']})"
    return K.type_name(d)


def _same(a, b):
    """torch.equal of two described tensors: the same shape and the same numbers."""
    x, y = _array(a), _array(b)
    return x is not None and y is not None and x.shape == y.shape and np.array_equal(x, y)


# --- Cell 1 ---

def broadcast(k):
    d = _run(k, "broadcast")
    value = d.get("value")
    expect(K.kind(value) == "tensor", "broadcast_result should be a torch.Tensor")
    expect(_shape(value) == (3, 3), f"(3, 1) + (3,) should have shape (3, 3), got {_shape(value)}")
    r = _array(value)
    # an outer sum a_i + b_j: r[i, j] - r[i, 0] - r[0, j] + r[0, 0] == 0 (torch.allclose to zeros: atol 1e-8)
    expect(r is not None and bool(np.all(np.abs(r - r[:, :1] - r[:1, :] + r[0, 0]) <= 1e-8)),
           "broadcast_result should be a column plus a row, added by broadcasting")
    again = d.get("again")
    expect(again is None or (type(again) is dict and type(again.get("results")) is list and any(
        _shape(t) == (3, 3) and _same(t, again.get("value")) for t in again["results"])),
        "broadcast_result should be computed by adding a (3, 1) tensor and a (3,) tensor (broadcasting copies "
        "them to (3, 3)), not typed in")


def autograd(k):
    d = _run(k, "autograd")
    value = d.get("value")
    expect(K.kind(value) == "tensor", "dydx should be the tensor x.grad, not a Python number")
    got = _array(value)
    expect(got is not None and got.size == 1, f"dydx should hold one number, got shape {_shape(value)}")
    got = float(got.reshape(-1)[0])
    expect(abs(got - 7.0) < 1e-6, f"dy/dx at x = 2 should be 2*2 + 3 = 7, got {got}")
    # run again with every gradient autograd returns doubled, a derivative autograd computed doubles (14)
    again = d.get("again")
    expect(again is None or (type(again) is float and abs(again - 14.0) < 1e-6),
           "dydx should be computed by autograd (y.backward(), then x.grad), not typed in or worked out by hand")


# --- Cell 2 ---

def _linear(layer, features):
    return type(layer) is dict and layer.get("linear") is True and layer.get("features") == list(features)


def _affine(x, layer):
    weight, bias = _array(layer.get("weight")), layer.get("bias")
    out = x @ weight.T
    return out if K.kind(bias) == "none" else out + _array(bias)


def architecture(k):
    x = np.random.default_rng(27).standard_normal((4, 7)).astype(np.float32).astype(np.float64)
    d = _run(k, "architecture", x=x.tolist())
    expect(d.get("is_module") is True, "SimpleMLP should inherit from nn.Module")
    expect(_linear(d.get("fc1"), (7, 5)), "fc1 should be nn.Linear(input_size, hidden_size)")
    expect(type(d.get("relu")) is dict and d["relu"].get("relu") is True, "relu should be nn.ReLU()")
    expect(_linear(d.get("fc2"), (5, 3)), "fc2 should be nn.Linear(hidden_size, output_size)")
    if d.get("forward_error"):
        raise CheckFailed(f"calling the model raised {d['forward_error']}")
    out = d.get("output")
    expect(_shape(out) == (4, 3), f"a batch of 4 should give logits of shape (4, 3), got {_shape(out)}")
    got = _array(out)
    want = _affine(np.maximum(_affine(x, d["fc1"]), 0.0), d["fc2"])
    # the cell compares two float32 computations (allclose); here float64 stands in for one of them
    expect(got is not None and np.allclose(got, want, rtol=1e-4, atol=1e-5),
           "forward should return fc2(relu(fc1(x))), with no softmax")


def count(k):
    d = _run(k, "count")
    expect(_number(d.get("big")) == 652, f"SimpleMLP(10, 50, 2) has 652 parameters, got {_shown(d.get('big'))}")
    expect(K.kind(d.get("small")) == "int", "count_parameters should return a Python int")
    expect(_number(d.get("frozen")) == 4 * 2 + 2,
           "parameters with requires_grad=False are not trainable and should not be counted")


# --- Cell 3 ---

@_cache.cached
def task_data():
    """The task's data, split as Cell 3 pins it: X float32 (as torch.tensor(..., float32) makes it), y int."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=1000, n_features=10, n_informative=5, random_state=42)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=42)
    as32 = lambda a: a.astype(np.float32).astype(np.float64).tolist()  # noqa: E731
    return {"X_train": as32(X_tr), "X_test": as32(X_te), "y_train": y_tr.tolist(), "y_test": y_te.tolist()}


def tensors(k):
    d = _run(k, "tensors")
    X_train, X_test, y_train, y_test = (d.get(n) for n in ("X_train", "X_test", "y_train", "y_test"))
    expect(_shape(X_train) == (800, 10) and _shape(X_test) == (200, 10),
           f"expected X_train (800, 10) and X_test (200, 10), got {_shape(X_train)} and {_shape(X_test)}")
    expect(_torch_dtype(X_train) == _torch_dtype(X_test) == "torch.float32", "features should be float32")
    expect(_torch_dtype(y_train) == _torch_dtype(y_test) == "torch.int64",
           "labels should be int64 (CrossEntropyLoss needs them)")
    expect(_shape(y_train) == (800,) and _shape(y_test) == (200,), "labels should be 1-D, one per row")
    labels = [_array(y_train), _array(y_test)]
    expect(all(a is not None for a in labels) and set(np.concatenate(labels).tolist()) == {0, 1},
           "make_classification with two classes gives labels 0 and 1")
    want = task_data()
    close = all(
        (got := _array(d[name])) is not None
        and np.allclose(got, want[name], rtol=1e-5, atol=1e-8)  # torch.allclose's defaults
        for name in ("X_train", "X_test"))
    expect(close, ("X_train and X_test should be the task's data: make_classification(n_samples=1000, n_features=10, "
                   "n_informative=5, random_state=42) split by train_test_split(X, y, test_size=0.2, random_state=42)"))
    expect(all(np.array_equal(_array(d[n]), np.asarray(want[n], dtype=np.float64)) for n in ("y_train", "y_test")),
           "the labels do not belong to their rows: split X and y in one train_test_split(X, y, test_size=0.2, "
           "random_state=42) call")


def loaders(k):
    d = _run(k, "loaders")
    expect(d.get("len_train") == 25, f"800 rows in batches of 32 make 25 batches, got {d.get('len_train')}")
    expect(d.get("batch_sizes") == [32, 32], "both loaders should use batch_size=32")
    expect(d.get("train_random") is True, "train_loader should shuffle (shuffle=True)")
    expect(d.get("test_sequential") is True, "test_loader should not shuffle (shuffle=False)")
    expect(d.get("len_test_data") == 200, "test_loader should serve the 200 test rows")


# --- Cell 4: on a 10-8-2 network of the fixture's own and 70 rows the grader chose ---

@_cache.torch_reference
def epoch_reference(seed):
    """One epoch by the book (forward, loss, zero_grad, backward, step; SGD lr 0.1), in torch as the
    kernel runs it: the parameters after, each batch's loss, the correct predictions."""
    import torch
    import torch.nn as nn

    from . import _visible_kernel as fixture

    weights, x, y = _mlp_inputs(seed, 70, hidden=8)
    net = fixture.net_with(weights)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    losses, correct = [], 0
    for bx, by in fixture._loader(x.tolist(), y.tolist()):
        out = net(bx)
        loss = nn.CrossEntropyLoss()(out, by)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        correct += int((out.argmax(dim=1) == by).sum())
    return {"parameters": [p.detach().tolist() for p in net.parameters()], "losses": losses, "correct": correct}


@_cache.torch_reference
def evaluation_reference(seed):
    """Each batch's loss and the correct predictions of the network as it is, without training."""
    import torch
    import torch.nn as nn

    from . import _visible_kernel as fixture

    weights, x, y = _mlp_inputs(seed, 70, hidden=8)
    with torch.no_grad():
        net = fixture.net_with(weights)
        batches = [(nn.CrossEntropyLoss()(net(bx), by).item(), int((net(bx).argmax(1) == by).sum()))
                   for bx, by in fixture._loader(x.tolist(), y.tolist())]
    return {"losses": [loss for loss, _ in batches], "correct": sum(c for _, c in batches)}


def _two_floats(d, function, hint):
    loss, acc = d.get("loss"), d.get("acc")
    expect(K.kind(loss) == "float" and K.kind(acc) == "float",
           f"{function} should return two Python floats, got {K.type_name(loss)} and {K.type_name(acc)}: " + (
               "a NumPy float (from np.mean?) is not one: Cell 5 saves these numbers in a checkpoint that "
               "torch.load(weights_only=True) refuses, so wrap it in float(...)" if d.get("numpy") is True else hint))
    return loss["value"], acc["value"]


def _bools(values):
    return type(values) is list and all(type(v) is bool for v in values)


def train_epoch(k):
    d = _run(k, "train_epoch", **_mlp_request(41, 70, hidden=8))
    _, x, y = _mlp_inputs(41, 70, hidden=8)
    loss, acc = _two_floats(d, "train_epoch", "use loss.item()")
    modes = d.get("modes")
    expect(_bools(modes) and modes != [] and all(modes),
           "train_epoch should train in train mode: call model.train() at its start (the model came in eval mode)")
    calls, outputs = d.get("calls"), d.get("outputs")
    expect(type(calls) is list and type(outputs) is list, "the kernel's answer lacks train_epoch's criterion calls")
    expect(d.get("calls_made") == 3,
           f"train_epoch should compute the loss once per batch (3 batches here), got {d.get('calls_made')} criterion calls")
    for call, start in zip(calls, (0, 32, 64)):
        expect(type(call) is list and len(call) == 2, "the kernel's answer lacks train_epoch's criterion calls")
        logits, target = call
        expect(_torch_dtype(target) == "torch.int64" and _shape(target) == (len(y[start:start + 32]),)
               and np.array_equal(_array(target), y[start:start + 32]),
               "pass the labels to the criterion as the loader gives them: CrossEntropyLoss wants int64 class indices "
               "of shape (B,), not one-hot or float targets")
        expect(any(_same(logits, out) for out in outputs),
               "pass the model's raw outputs (logits) to the criterion: CrossEntropyLoss applies log_softmax itself, "
               "so no softmax before it")
    log = d.get("order")
    expect(type(log) is list and all(type(e) is list and len(e) == 2 and type(e[1]) is bool for e in log),
           "the kernel's answer lacks train_epoch's calls")
    order = [e[0] for e in log]
    expect(order == ["backward", "step"] * 3,
           f"each batch should call loss.backward() and then optimizer.step() once, in that order; the calls were {order}")
    expect(all(ok for name, ok in log if name == "backward"),
           "gradients were not zero when loss.backward() ran: call optimizer.zero_grad() in every batch, before "
           "backward() (gradients accumulate)")
    expect(all(ok for name, ok in log if name == "step"),
           "optimizer.step() found no gradients: call optimizer.zero_grad() before loss.backward(), not between "
           "backward() and step()")
    # the same epoch by the book, computed here on the same starting network and batches
    want = epoch_reference(41)
    expect(_same_parameters(d.get("parameters"), want["parameters"]),
           "after one epoch the parameters should equal those of the loop forward, loss, zero_grad, backward, step")
    mean = sum(want["losses"]) / 3
    expect(abs(loss - mean) < 1e-6, f"the loss should be the mean of the 3 batch losses, {mean:.5f}, got {loss:.5f}")
    expect(abs(acc - want["correct"] / 70) < 1e-9,
           f"accuracy should be correct samples / all samples = {want['correct']}/70, got {acc:.5f} (not the mean of "
           "per-batch accuracies)")


def evaluate(k):
    request = _mlp_request(42, 70, hidden=8)
    d = _run(k, "evaluate", **request)
    loss, acc = _two_floats(d, "evaluate", "use .item()")
    modes = d.get("modes")
    expect(type(modes) is list and all(type(m) is list and len(m) == 2 and _bools(m) for m in modes),
           "the kernel's answer lacks evaluate's forward passes")
    expect(modes != [] and not any(training for training, _ in modes),
           "evaluate should put the model in eval mode (model.eval()) before its forward passes")
    expect(not any(grad for _, grad in modes), "evaluate should run its forward passes under torch.no_grad() (no graph is needed)")
    expect(_same_parameters(d.get("parameters"), request["weights"], exact=True), "evaluate must not change the parameters")
    expect(_bools(d.get("grads")) and not any(d["grads"]), "evaluate should never call backward (it only measures)")
    want = evaluation_reference(42)
    expect(abs(loss - sum(want["losses"]) / len(want["losses"])) < 1e-6, "loss should be the mean of the batch losses")
    expect(abs(acc - want["correct"] / 70) < 1e-9, "accuracy should be correct samples / number of samples")


# --- Cell 5: checkpoints of a 4-6-2 network of the fixture's own ---

@_cache.torch_reference
def checkpoint_reference(seed):
    """The visible cell's trained model, and the first torch.rand(3) after torch.manual_seed(seed)."""
    import torch

    from . import _visible_kernel as fixture

    model, _ = fixture.checkpoint_model()
    torch.manual_seed(seed)
    return {"trained": [p.detach().tolist() for p in model.parameters()], "next": torch.rand(3).tolist()}


@_cache.torch_reference
def straight_reference():
    """Six uninterrupted epochs, as the kernel runs them."""
    from . import _visible_kernel as fixture

    return [p.detach().tolist() for p in fixture.straight_run().parameters()]


def _equal_parameters(a, b):
    """torch.equal for every parameter of two described lists."""
    return type(a) is list and type(b) is list and len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))


def roundtrip(k):
    d = _run(k, "roundtrip", seed=53)
    keys = d.get("keys")
    expect(type(keys) is list, "the kernel's answer lacks the checkpoint's keys")
    for key in ("epoch", "model_state_dict", "optimizer_state_dict", "rng_state"):
        expect(key in keys, f"the checkpoint should contain {key!r}")
    if "stored_error" in d:
        K.raise_reported(d["stored_error"])
    stored = d.get("stored")
    expect(type(stored) is list and len(stored) == 2 and _number(stored[0]) == 7 and _number(stored[1]) == 0.5,
           "epoch and each metric keyword should be stored under their own names")
    if "load_error" in d:
        K.raise_reported(d["load_error"])
    if "epoch_error" in d:
        K.raise_reported(d["epoch_error"])
    expect(d.get("is_dict") is True and _number(d.get("epoch")) == 7, "load_checkpoint should return the checkpoint dictionary")
    want = checkpoint_reference(53)
    expect(_equal_parameters(d.get("loaded"), d.get("trained")) and _same_parameters(d.get("loaded"), want["trained"]),
           "load_checkpoint should restore the model's parameters")
    expect(type(d.get("optimizer_state")) is int and d["optimizer_state"] > 0,
           "load_checkpoint should restore the optimiser state (Adam's moments)")
    got = _array(d.get("next"))
    expect(got is not None and got.shape == (3,) and np.array_equal(got, want["next"]),
           "load_checkpoint should restore the RNG state (torch.set_rng_state)")


def resume(k):
    d = _run(k, "resume")
    expect(_equal_parameters(d.get("first"), d.get("copy")),
           "a model reloaded from the checkpoint should have exactly the saved parameters (model_state_dict)")
    if "epoch_error" in d:
        K.raise_reported(d["epoch_error"])
    expect(_number(d.get("epoch")) == 3, "load_checkpoint should return the dict with the saved epoch")
    expect(_equal_parameters(d.get("straight"), d.get("resumed")) and _same_parameters(d.get("resumed"), straight_reference()),
           "3 epochs + save + resume into a fresh model and optimiser + 3 epochs should equal 6 uninterrupted epochs "
           "exactly: save and restore model_state_dict, optimizer_state_dict and rng_state")


# --- Cell 6 ---

def gradients(k):
    sets = np.random.default_rng(6).standard_normal((5, 5)).tolist()
    calls = _run(k, "gradients", sets=sets)
    expect(type(calls) is list, "the kernel's answer lacks manual_gradients' results")
    expected = [(values[3], values[4], 1.0) for values in sets for _ in range(2)]  # floats, then 0-d tensors
    for call, want in zip(calls, expected):
        expect(type(call) is dict, "the kernel's answer lacks manual_gradients' results")
        if "runtime_error" in call:
            raise CheckFailed("manual_gradients should use the formulas, not autograd: called where no graph "
                              f"can be built (torch.inference_mode()), it raised RuntimeError: {call['runtime_error']}")
        expect(call.get("length") == 3, "manual_gradients should return three values (dw1, dw2, db)")
        floats = call.get("floats")
        expect(type(floats) is list and len(floats) == 3 and all(type(v) is float for v in floats),
               "the kernel's answer lacks manual_gradients' results")
        for name, m, a in zip(("dw1", "dw2", "db"), floats, want):
            expect(math.isfinite(m) and abs(m - a) <= 1e-6 * max(1.0, abs(a)),
                   f"{name} should equal autograd's {a:.4f}, got {m:.4f}")
    expect(len(calls) == len(expected), "the kernel's answer lacks manual_gradients' results")


# --- Exercise 1 ---

def wine(k):
    d = _run(k, "wine")
    lengths = d.get("lengths")
    expect(lengths == [124, 54], f"expected 124 training and 54 test rows, got {lengths[0]} and {lengths[1]}"
           if type(lengths) is list and len(lengths) == 2 else "expected 124 training and 54 test rows")
    x, y, mean = d.get("x"), d.get("y"), d.get("mean")
    expect(K.kind(x) == "tensor" and _torch_dtype(x) == "torch.float32" and _shape(x) == (13,),
           "x should be a float32 tensor of shape (13,)")
    expect(K.kind(y) == "tensor" and _torch_dtype(y) == "torch.int64" and d.get("y_dim") == 0,
           "y should be an int64 0-d tensor")
    expect(_torch_dtype(mean) == "torch.float32" and _shape(mean) == (13,), "mean should be a float32 tensor of shape (13,)")
    if d.get("stack_error"):
        raise CheckFailed(f"stacking every item's x raised {d['stack_error']}")
    features = _array(d.get("features"))
    expect(features is not None and features.shape == (124, 13), "every item's x should have shape (13,)")
    expect(np.allclose(features.mean(0), 0.0, rtol=1e-5, atol=1e-4), "standardised training features should have mean 0")
    expect(np.allclose(features.std(0), 1.0, rtol=1e-5, atol=1e-4),
           "standardised training features should have (population) std 1")
    test_mean = d.get("test_mean")
    expect(_shape(test_mean) == _shape(mean) and _torch_dtype(test_mean) == _torch_dtype(mean)
           and np.array_equal(_array(test_mean), _array(mean)),
           "a test split given the training statistics should keep them")


# --- Exercise 2 ---

def structure(k):
    runs = _run(k, "structure")
    names = sorted(kd.get("value") for kd, _ in K.pairs(runs)) if K.kind(runs) == "mapping" and all(
        K.kind(kd) == "str" for kd, _ in K.pairs(runs)) else None
    expect(names == ["constant", "cosine"], f"expected the keys 'constant' and 'cosine', got {names}")
    got = {}
    for name in ("constant", "cosine"):
        history = K.lookup(runs, name)
        for key in ("lr", "train_loss", "test_loss", "test_acc"):
            values = K.lookup(history, key) if K.kind(history) == "mapping" else None
            expect(values is not None, f"the {name} history should have the key {key!r}")
            expect(K.kind(values) == "list" and values.get("length") == 4 and len(K.items(values)) == 4,
                   f"{name}[{key!r}] should be a list of one value per epoch (4 here)")
            expect(all(K.kind(v) == "float" and type(v.get("value")) is float for v in K.items(values)),
                   f"{name}[{key!r}] should hold Python floats (use float(...) or .item())")
            got[name, key] = [v["value"] for v in K.items(values)]
    expect(all(abs(v - 0.01) < 1e-12 for v in got["constant", "lr"]),
           f"the constant run should keep lr = 0.01 (the lr argument) in every epoch, got {got['constant', 'lr']}")
    want = [0.01 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)]
    expect(all(abs(a - b) < 1e-9 for a, b in zip(got["cosine", "lr"], want)),
           f"the cosine run should record the rate used during each epoch, {[round(v, 6) for v in want]} for lr=0.01 "
           f"and 4 epochs, got {[round(v, 6) for v in got['cosine', 'lr']]} (record before training, step the "
           f"scheduler after it, T_max=epochs)")
    expect(got["constant", "train_loss"][0] == got["cosine", "train_loss"][0],
           "both runs should start alike (same lr in epoch 1): call torch.manual_seed(seed) before building each "
           "run's model")




# --- Exercise 3 ---

def _mlp_inputs(seed, rows, hidden=12):
    """A 10-hidden-2 MLP's weights (float32 values, drawn as nn.Linear draws them) and `rows` rows of data."""
    rng = np.random.default_rng(seed)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    weights = []
    for fan_in, fan_out in ((10, hidden), (hidden, 2)):
        bound = 1 / math.sqrt(fan_in)
        weights += [f32(rng.uniform(-bound, bound, (fan_out, fan_in))), f32(rng.uniform(-bound, bound, fan_out))]
    x, y = f32(rng.standard_normal((rows, 10))), rng.integers(0, 2, rows)
    return weights, x, y


def _mlp_request(seed, rows, hidden=12):
    weights, x, y = _mlp_inputs(seed, rows, hidden)
    return dict(weights=[w.tolist() for w in weights], x=x.tolist(), y=y.tolist())


def _cross_entropy(weights, x, y):
    """The mean cross-entropy of the MLP's logits, in float64."""
    w1, b1, w2, b2 = weights
    logits = np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


@_cache.torch_reference
def full_batch_steps(seed, rows):
    """The parameters after one full-batch step of SGD(lr 0.1) and of Adam(lr 0.01), in torch as the kernel steps."""
    import torch
    import torch.nn as nn

    from . import _visible_kernel as fixture  # the same network the kernel builds

    weights, x, y = _mlp_inputs(seed, rows)
    out = []
    for make in (lambda p: torch.optim.SGD(p, lr=0.1), lambda p: torch.optim.Adam(p, lr=0.01)):
        net = fixture.net_with(weights)
        optimizer = make(net.parameters())
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(net(torch.tensor(x, dtype=torch.float32)), torch.tensor(y, dtype=torch.int64)).backward()
        optimizer.step()
        out.append([p.detach().tolist() for p in net.parameters()])
    return out


def _same_parameters(got, want, exact=False):
    """torch.allclose(p, q, atol=1e-6) for every parameter (torch.equal where `exact`)."""
    return type(got) is list and len(got) == len(want) and all(
        (a := _array(g)) is not None and a.shape == np.shape(w)
        and (np.array_equal(a, w) if exact else np.allclose(a, w, rtol=1e-5, atol=1e-6)) for g, w in zip(got, want))


def matches_full_batch(k):
    runs = _run(k, "full_batch", **_mlp_request(91, 64))
    want = full_batch_steps(91, 64)
    expect(type(runs) is list and len(runs) == 6, "the kernel's answer lacks accumulated_step's results")
    for i, got in enumerate(runs):
        expect(_same_parameters(got, want[i // 3]),
               f"with accumulation_steps={(1, 2, 4)[i % 3]}, parameters should match one full-batch step")


def clears_old_gradients(k):
    d = _run(k, "stale_gradients", **_mlp_request(92, 32))
    expect(d.get("steps") == 1, "call optimizer.step() once, after every micro-batch's backward(); it was called "
                                f"{d.get('steps')} times")
    fresh = [_array(p) for p in d.get("fresh") or []]
    expect(all(p is not None for p in fresh) and _same_parameters(d.get("stale"), [p.tolist() for p in fresh]),
           "the stale gradients already in .grad took part in the step: clear them once, before the first "
           "micro-batch's backward() (optimizer.zero_grad())")


def returns_loss(k):
    request = _mlp_request(93, 48)
    weights, x, y = _mlp_inputs(93, 48)
    d = _run(k, "returned_loss", **request)
    got = d.get("got")
    expect(K.kind(got) == "float", f"accumulated_step should return a Python float, got {K.type_name(got)}: " + (
        "wrap a NumPy float (from np.mean?) in float(...)" if d.get("numpy") is True else "use loss.item()"))
    got = got["value"]
    expected, last = _cross_entropy(weights, x, y), _cross_entropy(weights, x[32:48], y[32:48])
    expect(not (abs(got - last) < 1e-5 or abs(got - last / 3) < 1e-5),
           f"got {got:.5f}, the last micro-batch's loss alone: return the mean over the whole batch, the sum of every "
           f"micro-batch's loss / accumulation_steps")
    expect(abs(got - 3 * expected) > 1e-5,
           f"got {got:.5f}, 3 times the full-batch mean loss {expected:.5f}: divide each micro-batch loss by "
           f"accumulation_steps")
    expect(abs(got - expected) < 1e-5, f"expected the full-batch mean loss {expected:.5f}, got {got:.5f}")


# --- Exercise 4 ---

def basic(k):
    d = _run(k, "basic")
    expect(d.get("is_device") is True, f"get_device should return a torch.device, got {d.get('type_name')}")
    # what this kernel can use, as torch in the kernel says (the cell asks the same torch)
    want = "cuda" if d.get("cuda") is True else "mps" if d.get("mps") is True else "cpu"
    expect(d.get("device_type") == want, f"on this machine get_device should pick {want!r}, got {d.get('device_type')!r}")
    history = d.get("history")
    keys = {kd.get("value") for kd, _ in K.pairs(history) if K.kind(kd) == "str"} if K.kind(history) == "mapping" else set()
    expect({"train_loss", "test_loss", "test_acc"} <= keys,
           f"fit should return train_loss, test_loss and test_acc (more keys are fine), got {sorted(keys)}")
    for key in ("train_loss", "test_loss", "test_acc"):
        values = K.lookup(history, key)
        expect(K.kind(values) == "list" and values.get("length") == 3 and len(K.items(values)) == 3
               and all(K.kind(v) == "float" for v in K.items(values)), f"{key!r} should be a list of 3 Python floats")
    passes = d.get("passes")
    expect(type(passes) is list and all(type(p) is list and len(p) == 3 for p in passes),
           "the kernel's answer lacks fit's forward passes")
    train = [training for training, grad, size in passes if size == 16 and grad]  # training: 4 batches of 16 rows
    evals = [(training, grad) for training, grad, size in passes if size == 20]  # test batches: 2 of 20 rows
    expect(len(train) == 3 * 4 and len(evals) >= 3 * 2,
           f"fit should train on the 4 training batches and evaluate on the 2 test batches in each of 3 epochs, saw "
           f"{len(train)} and {len(evals)}")
    for epoch in range(3):
        expect(all(t is True for t in train[4 * epoch:4 * epoch + 4]),
               f"in epoch {epoch + 1} the model trained in eval mode: call model.train() at the start of every epoch, "
               "since evaluating switched it to eval mode")
    expect(all(t is False for t, _ in evals), "fit should evaluate in eval mode (model.eval())")
    expect(all(g is False for _, g in evals), "fit should evaluate under torch.no_grad()")


# The visible test cells decided outside the kernel when grading, by grade id.
CHECKS = {
    "cell1_tests_broadcast": broadcast,
    "cell1_tests_autograd": autograd,
    "cell2_tests_architecture": architecture,
    "cell2_tests_count": count,
    "cell3_tests_tensors": tensors,
    "cell3_tests_loaders": loaders,
    "cell4_tests_train_epoch": train_epoch,
    "cell4_tests_evaluate": evaluate,
    "cell5_tests_roundtrip": roundtrip,
    "cell5_tests_resume": resume,
    "cell6_tests_gradients": gradients,
    "ex1_tests_wine": wine,
    "ex2_tests_structure": structure,
    "ex3_tests_matches_full_batch": matches_full_batch,
    "ex3_tests_clears_old_gradients": clears_old_gradients,
    "ex3_tests_returns_loss": returns_loss,
    "ex4_tests_basic": basic,
}
