"""Hidden tests for Exercise 2: compare_schedulers, decided outside the kernel.

Each check is a function of a `Kernel` (_client.py). It has the kernel run the student's
compare_schedulers on inputs built by _ex2_kernel.py (sent as text, with the reference
train_epoch and evaluate in the notebook's namespace while it runs), gets the histories back as
plain data, and compares them with reference runs computed here, in the grader's process, with
the same network, data and loaders (once per machine: `reference` is `_cache.cached`, and torch is
imported only to compute it). No object of the student's interpreter reaches these functions, and
no expected value reaches the kernel.
"""

import math
from pathlib import Path

from . import _cache
from . import _client as K
from ._report import CheckFailed, expect
from . import _pristine as P

# While the student's compare_schedulers runs (for every hidden check, _ex2_kernel.student_run, and
# for the visible cell's twin, _visible_kernel.structure), these names of the notebook are the
# reference ones: Exercise 2's grade does not depend on Cell 4's answers (the fixtures, sent as text,
# spell them out; tests/unit/test_week13_checks.py holds them to this tuple, and the sample harness
# packs Cell 4's and Exercise 2's samples into one notebook on the strength of it).
REPLACED_WHILE_COMPARING = ("train_epoch", "evaluate")
KEYS = ("lr", "train_loss", "test_loss", "test_acc")
RUNS = ("constant", "cosine")
_HERE = Path(__file__).parent
SOURCES = tuple((_HERE / name).read_text() for name in ("_reference.py", "_ex2_kernel.py"))


@_cache.torch_reference
def reference(epochs, lr, seed, cosine):
    """The expected history of one run (on one thread, as in the grading kernel)."""
    import torch
    import torch.nn as nn

    from . import _ex2_kernel as fixture
    from ._reference import evaluate as ref_evaluate
    from ._reference import train_epoch as ref_train_epoch

    h = {k: [] for k in KEYS}
    train_loader, test_loader = fixture.loaders()
    torch.manual_seed(seed)
    model = fixture.Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cosine else None
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


def _run(k, **kwargs):
    return k.fixture("ex2", SOURCES, "student_run", **kwargs)


def student_run(k, runs=RUNS, keys=KEYS, **kwargs):
    """Have the kernel call the notebook's compare_schedulers (with reference train_epoch/evaluate).

    Returns ({run: {key: list of floats}} for the `runs` and `keys` a check compares, the rest of
    the fixture's data), after checking only those: a mistake in one key (e.g. the lr recorded as a
    list) costs the checks that compare that key, not every check of the exercise. Values are read
    as numbers (the visible test checks that they are Python floats)."""
    data = _run(k, **kwargs)
    expect(type(data) is dict, "the kernel's answer is not the fixture's data")
    result = data.get("result")
    epochs = kwargs.get("epochs", 50)
    expect(K.kind(result) == "mapping", f"compare_schedulers should return a dict, got {K.type_name(result)}")
    names = sorted(kd.get("value") for kd, _ in K.pairs(result)) if all_str(result) else None
    expect(names == sorted(RUNS), f"compare_schedulers should return the keys 'constant' and 'cosine', got {names}")
    out = {}
    for run in runs:
        h = K.lookup(result, run)
        expect(K.kind(h) == "mapping", f"result[{run!r}] should be a dict of lists, got {K.type_name(h)}")
        out[run] = {}
        for key in keys:
            values = K.lookup(h, key)
            expect(values is not None, f"result[{run!r}] is missing the key {key!r}")
            out[run][key] = _per_epoch(values, epochs, f"result[{run!r}][{key!r}]")
    return out, data


def _per_epoch(values, epochs, label):
    """`values` (described) read as `epochs` numbers; a CheckFailed that says what is wrong otherwise."""
    if K.is_plain_tensor(values):
        items = K.values(values)
        items = [{"kind": "float", "value": v} for v in (items if type(items) is list else [items])]
    elif K.kind(values) in ("list", "tuple"):
        items = K.items(values)
        expect(values.get("length") == len(items), f"{label} has too many values")
    elif K.kind(values) == "ndarray" and "values" in values:
        items = values["values"] if type(values["values"]) is list else [values["values"]]
        items = [{"kind": "float", "value": v} if type(v) in (int, float) else {"kind": "ndarray", "type": "ndarray"}
                 for v in items]
    else:
        raise CheckFailed(f"{label} should be a list of {epochs} Python floats (one per epoch), "
                          f"got a {K.type_name(values)}")
    expect(len(items) == epochs, f"{label} should be a list of {epochs} Python floats (one per epoch), "
                                 f"got {len(items)} values")
    out = []
    for v in items:
        if K.kind(v) in ("float", "int") and type(v.get("value")) in (int, float):
            out.append(float(v["value"]))
        elif K.kind(v) == "npscalar" and v.get("number") is True and type(v.get("value")) in (int, float):
            out.append(float(v["value"]))
        elif K.is_plain_tensor(v) and K.shape_of(v) in ((), (1,)):
            value = K.values(v)
            value = value[0] if type(value) is list else value
            expect(type(value) in (int, float), f"{label} should hold numbers")
            out.append(float(value))
        else:
            raise CheckFailed(f"{label} should hold Python floats, got {K.type_name(v)}" + _float_hint(v))
    return out


def all_str(d):
    return all(K.kind(kd) == "str" for kd, _ in K.pairs(d))


def compare(got, want, run, keys, setting):
    for key in keys:
        for epoch, (g, w) in enumerate(zip(got[key], want[key])):
            if not P.close(g, w, rtol=1e-5, atol=1e-7):
                raise CheckFailed(
                    f"{run} run, {setting}: {key} in epoch {epoch + 1} should be {w:.6g}, got {g:.6g}"
                    + _hint(run, key, epoch))


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
    return (" (scheduler.get_last_lr() returns a list: take its [0])" if K.type_name(v) == "list"
            else " (use float(...))")


def lr_schedule(k):
    epochs, lr = 7, 0.02
    got, _ = student_run(k, keys=("lr",), epochs=epochs, lr=lr, seed=5)
    for run in RUNS:
        compare(got[run], reference(epochs, lr, 5, run == "cosine"), run, ("lr",), f"epochs={epochs}, lr={lr}")


def constant_run(k):
    got, _ = student_run(k, runs=("constant",), keys=KEYS[1:], epochs=5, lr=0.01, seed=11)
    compare(got["constant"], reference(5, 0.01, 11, False), "constant", KEYS[1:], "epochs=5, lr=0.01, seed=11")


def cosine_run(k):
    got, _ = student_run(k, runs=("cosine",), keys=KEYS[1:], epochs=6, lr=0.03, seed=12)
    compare(got["cosine"], reference(6, 0.03, 12, True), "cosine", KEYS[1:], "epochs=6, lr=0.03, seed=12")


@_cache.torch_reference
def _seeded_weights(seed):
    import torch

    from . import _ex2_kernel as fixture

    torch.manual_seed(seed)
    return fixture.initial_weights(fixture.Net())


def arguments(k):
    """epochs, lr and seed are honoured, and each run is reseeded. Only the constant run's losses
    are compared here, so a mistake in the schedule costs the lr and cosine checks, not this one."""
    got, _ = student_run(k, runs=("constant",), keys=KEYS[1:], epochs=3)  # lr and seed at their defaults
    compare(got["constant"], reference(3, 1e-3, 0, False), "constant", KEYS[1:], "epochs=3 and the default lr and seed")
    a, data = student_run(k, keys=("train_loss",), record_models=True, epochs=2, lr=0.05, seed=21)
    compare(a["constant"], reference(2, 0.05, 21, False), "constant", ("train_loss",), "epochs=2, lr=0.05, seed=21")
    made = data.get("initial")
    expect(type(made) is list, "the kernel's answer lacks the models' initial weights")
    expect(len(made) == 2, f"compare_schedulers should call make_model() once per run (twice), called it {len(made)} times")
    seeded = _seeded_weights(21)
    expect(made[0] == seeded and made[1] == seeded,
           "both runs should start from the weights torch.manual_seed(seed) gives: call torch.manual_seed(seed) "
           "right before make_model() in each run")
    b, _ = student_run(k, runs=("constant",), keys=("train_loss",), noise=True, epochs=2, lr=0.05, seed=21)
    expect(all(x == y for x, y in zip(a["constant"]["train_loss"], b["constant"]["train_loss"])),
           "two calls with the same seed should give identical runs (reseed inside compare_schedulers)")
    other, _ = student_run(k, runs=("constant",), keys=("train_loss",), epochs=2, lr=0.05, seed=22)
    expect(not P.close(other["constant"]["train_loss"][0], a["constant"]["train_loss"][0], rtol=0, atol=1e-9),
           "a different seed should give a different run (use the seed argument)")
    _same_shuffles(k)


def _same_shuffles(k):
    """On a loader shuffled by the global generator (as Cell 3's is), both runs must see the same
    shuffles: each reseeds and then trains before the next run reseeds. Extra passes over the
    loader are fine (both runs make them); the runs are compared with each other, in either order."""
    served = _run(k, shuffled=True, epochs=2, lr=0.05, seed=21).get("served")
    expect(type(served) is list and all(type(i) is int for i in served), "the kernel's answer lacks the rows served")
    half = len(served) // 2
    expect(len(served) % 2 == 0 and served[:half] == served[half:],
           "on a shuffled training loader the two runs saw different batches: a DataLoader with shuffle=True "
           "draws its order from the global generator, so call torch.manual_seed(seed) right before each run "
           "and train that run completely before seeding the next")


# The checks that are decided outside the kernel, by grade id (the grader sends their requests).
CHECKS = {
    "ex2_hidden_lr": lr_schedule,
    "ex2_hidden_constant": constant_run,
    "ex2_hidden_cosine": cosine_run,
    "ex2_hidden_arguments": arguments,
}
