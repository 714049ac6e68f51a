"""Hidden tests for Exercise 4: get_device and fit, decided outside the kernel.

Each check is a function of a `Kernel` (_client.py). It has the kernel call the student's
get_device and fit on inputs built by _ex4_kernel.py (sent as text) and gets plain data back: what
fit returned, described, and what the kernel observed while fit ran (where the model and every
batch were moved, the mode and grad mode of every forward call). What fit computes is compared
with reference runs computed here, in the grader's process, on the same data and initial weights
(`metrics`, and on a GPU grader the real CUDA run). Where the device a batch was moved to, or the
mode of a forward call, changes no number on a CPU, the observation is the only witness: it is
made inside the student's interpreter, so a submission set on forging it could (the exercise
text and the README say so); no expected value reaches the kernel.
"""

import os
from itertools import groupby
from pathlib import Path

from . import _cache
from . import _client as K
from . import _pristine as P
from ._report import CheckFailed, expect

KEYS = ("train_loss", "test_loss", "test_acc")
SOURCES = ((Path(__file__).parent / "_ex4_kernel.py").read_text(),)


def _run(k, function, **kwargs):
    return k.fixture("ex4", SOURCES, function, **kwargs)


def _no_cuda_error(data, device):
    error = data.get("cuda_error") if type(data) is dict else None
    if error is not None:
        raise CheckFailed(f"fit was given device {device!r} but tried to use CUDA ({error}): move the "
                          f"model and every batch with .to(device); never call .cuda() or name 'cuda' in fit")


def _floats_per_epoch(values, epochs, label, hint):
    """`values` (described) is a list of `epochs` Python floats; their values."""
    got = (f"a list of {values.get('length')}" if K.kind(values) == "list" else f"a {K.type_name(values)}")
    expect(K.kind(values) == "list" and values.get("length") == epochs,
           f"{label} should be a list of {epochs} Python floats (one per epoch), got {got}")
    out = []
    for v in K.items(values):
        if K.kind(v) != "float":
            raise CheckFailed(f"{label} should hold Python floats, got {K.type_name(v)}{hint}")
        out.append(K.value(v, float))
    return out


def _check_history(history, epochs):
    """The described history: a mapping with the KEYS, each a list of `epochs` floats; {key: values}."""
    expect(K.kind(history) == "mapping", f"fit should return a dict, got {K.type_name(history)}")
    keys = sorted(kd.get("value") for kd, _ in K.pairs(history)) \
        if all(K.kind(kd) == "str" for kd, _ in K.pairs(history)) else None
    expect(keys is not None and all(k in keys for k in KEYS),
           f"fit should return the keys {sorted(KEYS)} (more keys are fine), got {keys}")
    return {key: _floats_per_epoch(K.lookup(history, key), epochs, f"history[{key!r}]", " (use loss.item())")
            for key in KEYS}


def get_device(k):
    choices = _run(k, "device_choices")
    expect(type(choices) is list and len(choices) >= 1, "the kernel's answer lacks get_device's choices")
    wants = ((True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"))
    for got, (cuda, mps, want) in zip(choices, wants):
        expect(type(got) is dict and got.get("is_device") is True,
               f"get_device should return a torch.device, got {got.get('type_name') if type(got) is dict else '?'}")
        expect(got.get("device_type") == want, f"with cuda available={cuda} and mps available={mps}, get_device should "
                                               f"pick {want!r}, got {got.get('device_type')!r} (check cuda first, "
                                               f"then mps, then cpu)")
    expect(len(choices) == len(wants), "the kernel's answer lacks get_device's choices")


def moves_to_device(k):
    for device, as_device in (("cpu", False), ("cpu", True)):
        shown = f"device(type={device!r})" if as_device else repr(device)  # as repr(torch.device(device))
        data = _run(k, "moves", seed=40, epochs=2, device=device, as_device=as_device)
        _no_cuda_error(data, device)
        expect("cpu" in data.get("to_calls", []), f"fit should move the model with model.to(device) (device given as {shown})")
        calls = data.get("calls", [])
        expect(len(calls) > 0, "fit should call the model on the batches")
        for _, _, split, moved, _ in calls:
            expect(moved == "cpu", f"every {split} batch should be moved inside the loop with batch_x.to(device) "
                                   f"before calling the model (device given as {shown})")
        for split, moved in data.get("targets", []):
            expect(moved == "cpu", f"every {split} target batch should be moved with batch_y.to(device) "
                                   f"(device given as {shown})")
    elsewhere = [d for d in _run(k, "given_device") if not str(d).startswith("cpu")]
    expect(elsewhere == [], "fit was given device 'cpu' but moved the model or the batches to the device get_device() "
                            "picks: use fit's device argument, do not call get_device() inside fit")
    if _gpu_grader():  # a GPU grader: the real CUDA run, compared with the CPU reference
        _real_device_run(k, "cuda")


def _gpu_grader():
    """torch.cuda.is_available() in the grader's process, without importing torch where no GPU
    driver is loaded (NVIDIA's /dev/nvidiactl, WSL's /dev/dxg, ROCm's /dev/kfd): torch's CUDA needs one."""
    if not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/dxg", "/dev/kfd")):
        return False
    import torch
    return torch.cuda.is_available()


@_cache.torch_reference
def _device_reference():
    import torch
    import torch.nn as nn

    from . import _ex4_kernel as fixture
    from ._reference import fit as ref_fit

    model = fixture.device_model()
    return ref_fit(model, *fixture.device_loaders(), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                   2, "cpu")


def _real_device_run(k, device):
    data = _run(k, "device_run", device=device)
    got = _check_history(data.get("history"), 2)
    expect(data.get("parameter_devices") == [device],
           f"after fit on {device}, the model's parameters should be on {device}")
    want = _device_reference()
    for key in KEYS:
        expect(all(P.close(g, w, rtol=1e-4, atol=1e-5) for g, w in zip(got[key], want[key])),
               f"on {device}, {key} should match the same run on the CPU")


def eval_mode(k):
    epochs = 3
    data = _run(k, "modes", epochs=epochs)
    _no_cuda_error(data, "cpu")
    calls, n_train, n_test = data.get("calls"), data.get("n_train"), data.get("n_test")
    expect(type(calls) is list and all(type(c) is list and len(c) == 5 for c in calls)
           and type(n_train) is int and type(n_test) is int, "the kernel's answer lacks the forward calls")
    trained = [c for c in calls if c[4]]  # calls whose output backward reached
    test_calls = [c for c in calls if c[2] == "test"]
    expect(all(c[2] == "train" for c in trained), "fit should train on the training batches only")
    expect(len(trained) == epochs * n_train,
           f"fit should train (backward, one step per batch) on every training batch in each of the {epochs} epochs")
    # an extra evaluation (before training, say) is fine; each epoch must end with a whole test pass
    expect(len(test_calls) >= epochs * n_test and len(test_calls) % n_test == 0,
           "fit should evaluate on every test batch after each epoch")
    expect(all(c[0] is True for c in trained),
           "training should run in model.train() mode in every epoch (call model.train() at the start of each epoch, "
           "since evaluation switched to eval mode)")
    expect(not any(c[0] for c in test_calls), "evaluation should run in model.eval() mode")
    expect(not any(c[1] for c in test_calls), "evaluation should run under torch.no_grad()")
    order = ["train" if c[4] else "test" for c in calls if c[4] or c[2] == "test"]
    runs = [(kind, len(list(group))) for kind, group in groupby(order)]  # alternating train and test runs
    if runs and runs[0][0] == "test":  # an evaluation before training
        runs = runs[1:]
    trains, tests = runs[0::2], runs[1::2]
    expect(len(trains) == len(tests) == epochs and all(t == ("train", n_train) for t in trains)
           and all(n % n_test == 0 for _, n in tests),
           "each epoch should train on all training batches, then evaluate on the test batches")


@_cache.torch_reference
def _metrics_reference(epochs):
    import torch
    import torch.nn as nn

    from . import _ex4_kernel as fixture
    from ._reference import fit as ref_fit

    model = fixture.metrics_model()
    return ref_fit(model, *fixture.metrics_loaders(), nn.CrossEntropyLoss(),
                   torch.optim.Adam(model.parameters(), lr=0.02), epochs, "cpu")


def metrics(k):
    epochs = 3
    data = _run(k, "metrics_run", epochs=epochs)
    _no_cuda_error(data, "cpu")
    got = _check_history(data.get("history"), epochs)
    want = _metrics_reference(epochs)
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


# The checks that are decided outside the kernel, by grade id (the grader sends their requests).
CHECKS = {
    "ex4_hidden_get_device": get_device,
    "ex4_hidden_moves_to_device": moves_to_device,
    "ex4_hidden_eval_mode": eval_mode,
    "ex4_hidden_metrics": metrics,
}
