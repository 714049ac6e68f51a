"""Checks decided outside the kernel: what crosses is data, read as data, and no answer the kernel
hands back can pass a check except the right values (week13_checks/_client.py, _probe.py,
coursetools/verdicts.py). In-process: the probe on a namespace, the grader's side on crafted answers."""

import json

import numpy as np
import pytest
import torch

import week13_checks
from coursetools import SOURCE_NB
from coursetools import notebooks as nbs
from coursetools import verdicts
from week13_checks import _client as K
from week13_checks import _probe
from week13_checks import ex1

IMPORTS = "import csv\nimport numpy as np\nimport torch\nfrom torch.utils.data import DataLoader, Dataset\n"


@pytest.fixture(scope="module")
def reference():
    """The source notebook's Exercise 1 answer, run in a plain namespace."""
    cell = next(c for c in nbs.read(SOURCE_NB).cells if nbs.grade_id(c) == "ex1_solution")
    ns = {}
    exec(compile(IMPORTS + cell.source, "ex1_solution", "exec"), ns)
    return ns


class Scripted(K.Kernel):
    """A kernel whose answers are the probe's on `ns`, passed through `edit(request, answer_text)`:
    what a submission that replaced the probe, json or a tensor method could hand back."""

    def __init__(self, ns, edit):
        super().__init__()
        self.ns, self.edit = ns, edit

    def _send(self, request):
        return self.edit(json.loads(request), _probe.serve(self.ns, request))


def test_every_exercise_1_check_passes_the_reference_through_the_probe(reference):
    for grade_id in ex1.CHECKS:
        assert week13_checks.decide(grade_id, K.LocalKernel(reference)) is None, grade_id


def test_every_graded_cell_is_decided_outside_the_kernel():
    """Every hidden test cell has its check, and every visible one its twin (VISIBLE): when grading, no
    test cell's points are decided in the student's interpreter. A twin of no cell, or of a cell that
    is not a test, would never be asked."""
    cells = nbs.read(SOURCE_NB).cells
    hidden = {nbs.grade_id(c) for c in cells if "### BEGIN HIDDEN TESTS" in c.source}
    tests = {nbs.grade_id(c) for c in cells if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution") and c.cell_type == "code"}
    assert set(week13_checks.DECIDED_OUTSIDE) - week13_checks.VISIBLE == hidden
    assert week13_checks.VISIBLE == tests - hidden and len(week13_checks.VISIBLE) == 17


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"neither": 1}', "neither a result nor an exception"),
    ('{"raised": {"types": "IndexError", "message": "x"}}', "neither a result nor an exception"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ('"' + "x" * (K.MAX_REPLY + 1) + '"', "at most 8 MiB"),
    (None, "not text"),
])
def test_an_answer_that_is_not_the_data_of_a_request_is_malformed(text, message):
    with pytest.raises(K.Malformed, match=message):
        K.parse(text)


def test_a_raised_answer_names_the_exception_and_its_classes():
    with pytest.raises(K.Raised) as info:
        K.parse(_probe.serve({}, json.dumps({"op": "new", "bind": "h1", "name": "Missing"})))
    assert info.value.type_name == "NameError" and info.value.is_a("Exception")
    assert "Missing" in info.value.message


@pytest.mark.parametrize("value, kind, extra", [
    (torch.zeros(2, dtype=torch.float64), "tensor", {"dtype": "float64", "shape": [2], "values": [0.0, 0.0],
                                                     "exact": True}),
    (torch.nn.Parameter(torch.ones(1)), "tensor", {"exact": False, "type": "Parameter"}),
    ((1, 2.5, "a", None, True), "tuple", {"length": 5}),
    (np.float32(1.0), "npscalar", {"type": "float32", "number": True, "value": 1.0}),
    (np.bool_(True), "npscalar", {"number": False}),
    (np.arange(3.0), "ndarray", {"dtype": "float64", "shape": [3], "values": [0.0, 1.0, 2.0]}),
    ({"a": [1.5]}, "mapping", {"type": "dict", "items": [[{"kind": "str", "value": "a"},
                                                          {"kind": "list", "length": 1,
                                                           "items": [{"kind": "float", "value": 1.5}]}]]}),
    (object(), "other", {"type": "object"}),
])
def test_the_probe_describes_values_as_plain_data(value, kind, extra):
    d = _probe.describe(value)
    assert d["kind"] == kind and extra.items() <= d.items()
    assert json.loads(json.dumps(d)) == d


def test_a_huge_tensor_crosses_as_its_dtype_and_shape_only():
    d = json.loads(json.dumps(_probe.describe(torch.zeros(_probe.MAX_VALUES + 1))))
    assert "values" not in d and d["shape"] == [_probe.MAX_VALUES + 1]
    with pytest.raises(K.Malformed, match="too many values"):
        K.values(d)


def test_a_tensor_subclass_that_lies_about_its_values_is_not_a_plain_tensor():
    class Liar(torch.Tensor):
        def tolist(self):
            return [1.0, 2.0]
    d = _probe.describe(torch.zeros(2).as_subclass(Liar))
    assert d["values"] == [0.0, 0.0] and not K.is_plain_tensor(d)


def _swap_ok(new_ok):
    return lambda request, answer: json.dumps({"ok": new_ok(request, json.loads(answer).get("ok"))})


def _every_tensor(change):
    """An answer with `change` applied to every tensor it describes, at any depth."""
    def walk(d):
        if K.kind(d) == "tensor":
            return change(d)
        if K.kind(d) in ("list", "tuple"):
            return {**d, "items": [walk(x) for x in d["items"]]}
        if K.kind(d) == "answers":  # several requests in one (Kernel.items_at)
            return {**d, "items": [{**a, "ok": walk(a["ok"])} if "ok" in a else a for a in d["items"]]}
        return d
    return lambda request, answer: json.dumps({"ok": walk(json.loads(answer).get("ok"))}) \
        if "ok" in json.loads(answer) else answer


# Answers a submission could forge from inside the kernel, around the reference's own answers: each is
# a failed check with a message, never a pass and never an exception on the grader's side.
FORGED = {
    "every answer says None": _swap_ok(lambda r, ok: {"kind": "none", "value": None}),
    "every answer is an empty list": _swap_ok(lambda r, ok: {"kind": "list", "items": [], "length": 0}),
    "shapes that are not numbers": _every_tensor(lambda d: {**d, "shape": ["a"]}),
    "values of another type": _every_tensor(lambda d: {**d, "values": "0.0"}),
    "tensor subclasses": _every_tensor(lambda d: {**d, "exact": False}),
    "every tensor float64": _every_tensor(lambda d: {**d, "dtype": "float64"}),
    "answers that are not JSON": lambda r, a: "{'ok': True}",
    "answers that are huge": lambda r, a: json.dumps({"ok": {"kind": "str", "value": "x" * K.MAX_REPLY}}),
    "an exception for every request": lambda r, a: json.dumps({"raised": {"types": ["IndexError"], "message": "no"}}),
    "a number where a dict belongs": lambda r, a: json.dumps({"ok": 7}),
}


# The checks a forge leaves alone: ex1_hidden_errors reads no tensor, and float64 values that are right
# are accepted where only the values are judged (a dtype mistake costs the checks about items).
UNTOUCHED = {"shapes that are not numbers": {"ex1_hidden_errors"}, "values of another type": {"ex1_hidden_errors"},
             "tensor subclasses": {"ex1_hidden_errors"},
             "every tensor float64": {"ex1_hidden_errors", "ex1_hidden_constant_column", "ex1_hidden_target_column"}}


@pytest.mark.parametrize("forged", FORGED, ids=FORGED.keys())
def test_forged_answers_fail_every_check_that_reads_them_with_a_message(forged, reference):
    messages = {g: week13_checks.decide(g, Scripted(reference, FORGED[forged])) for g in ex1.CHECKS}
    assert {g for g, m in messages.items() if m is None} == UNTOUCHED.get(forged, set())
    assert all("\n" not in m and len(m) < 500 for m in messages.values() if m is not None)


def test_a_wrong_answer_with_the_right_types_fails_on_its_values(reference):
    """A dataset whose every item is a float32 zero vector and label 0: every type right, every value wrong."""
    def zero(ok):
        if K.kind(ok) != "tuple":
            return ok
        x, y = ok["items"]
        return {**ok, "items": [{**x, "values": [0.0] * len(x["values"])}, {**y, "values": 0}]}

    def zeros(request, answer):
        ok = json.loads(answer).get("ok")
        if request["op"] == "item":
            return json.dumps({"ok": zero(ok)})
        if request["op"] == "each":  # items fetched together (Kernel.items_at)
            return json.dumps({"ok": {**ok, "items": [{"ok": zero(a["ok"])} if "ok" in a else a for a in ok["items"]]}})
        return answer
    failed = {g for g in ex1.CHECKS if week13_checks.decide(g, Scripted(reference, zeros)) is not None}
    assert failed >= {"ex1_hidden_statistics", "ex1_hidden_given_statistics", "ex1_hidden_constant_column",
                      "ex1_hidden_target_column", "ex1_hidden_loader"}


@pytest.mark.parametrize("reply, message", [
    (None, "no answer"),
    ({"content": {"status": "error", "ename": "KeyboardInterrupt"}}, "failed in the kernel"),
    ({"content": {"status": "ok", "user_expressions": {}}}, "missing"),
    ({"content": {"status": "ok", "user_expressions": {"r": {"status": "ok", "data": {"text/plain": "__import__('os')"}}}}},
     "not a string literal"),
    ({"content": {"status": "ok", "user_expressions": {"r": {"status": "ok", "data": {"text/plain": "[1]"}}}}},
     "not a string"),
])
def test_the_reply_of_a_request_is_read_as_a_string_literal_only(reply, message):
    with pytest.raises(K.Malformed, match=message):
        verdicts.answer_text(reply)


def test_a_request_runs_the_probe_in_a_fresh_namespace_of_its_own():
    """What the grader sends: the probe installed once, under its own names, and one request served."""
    ns = {"MyTabularDataset": lambda path: [1, 2]}
    request = json.dumps({"op": "new", "bind": "h1", "name": "MyTabularDataset", "args": ["p"]})
    exec(verdicts.request_code(request), ns)
    assert K.parse(ns[verdicts.REPLY]) == {"kind": "other", "type": "list"}
    assert {"describe", "serve", "json"}.isdisjoint(ns)  # the probe's own names stay out of the notebook's
    serve = ns["__w13_serve__"]
    exec(verdicts.request_code(json.dumps({"op": "len", "obj": "h1"})), ns)
    assert ns["__w13_serve__"] is serve and K.parse(ns[verdicts.REPLY]) == {"kind": "int", "value": 2}


@pytest.fixture(scope="module")
def reference2():
    """The source notebook's Exercise 2 answer, run in a plain namespace."""
    cell = next(c for c in nbs.read(SOURCE_NB).cells if nbs.grade_id(c) == "ex2_solution")
    ns = {}
    exec(compile("import math\nimport torch\nimport torch.nn as nn\n" + cell.source, "ex2_solution", "exec"), ns)
    return ns


def test_every_exercise_2_check_passes_the_reference_and_fails_forged_answers(reference2):
    from week13_checks import ex2
    for grade_id in ex2.CHECKS:
        assert week13_checks.decide(grade_id, K.LocalKernel(reference2)) is None, grade_id
    for forged in ("every answer says None", "answers that are not JSON", "an exception for every request",
                   "a number where a dict belongs"):
        for grade_id in ex2.CHECKS:
            message = week13_checks.decide(grade_id, Scripted(reference2, FORGED[forged]))
            assert message and "\n" not in message, (forged, grade_id)


class _Sequence:
    """A dataset whose item 1 raises, as a student's __getitem__ might."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if i == 1:
            raise IndexError("row 1 is missing")
        return [float(i)]


def test_items_fetched_together_keep_each_items_own_answer_and_exception():
    k = K.LocalKernel({"Seq": _Sequence})
    handle = k.new("Seq", 3)
    first, second, third = k.items_at(handle, [0, 1, 2])
    assert first == _probe.describe([0.0]) and third == _probe.describe([2.0])
    assert isinstance(second, K.Raised) and second.is_a("IndexError") and second.message == "row 1 is missing"


def test_items_fetched_together_that_come_back_miscounted_are_malformed():
    drop_one = lambda request, answer: json.dumps(  # noqa: E731
        {"ok": {**json.loads(answer)["ok"], "items": json.loads(answer)["ok"]["items"][:-1]}})
    k = Scripted({"Seq": _Sequence}, lambda r, a: drop_one(r, a) if r["op"] == "each" else a)
    with pytest.raises(K.Malformed, match="expected 3 answers"):
        k.items_at(k.new("Seq", 3), [0, 2, 2])


def test_an_exercise_1_item_that_raises_fails_the_check_as_it_would_one_item_at_a_time(reference):
    """The rows of a check are fetched in one request; the student's exception still shows, by name."""
    ns = dict(reference)
    original = ns["MyTabularDataset"]

    class Broken(original):
        def __getitem__(self, i):
            if i == 2:
                raise KeyError("no row 2")
            return super().__getitem__(i)
    ns["MyTabularDataset"] = Broken
    message = week13_checks.decide("ex1_hidden_statistics", K.LocalKernel(ns))
    assert message == "ex1_hidden_statistics: your code raised KeyError: 'no row 2'"


class _Counting(K.LocalKernel):
    def __init__(self, ns):
        super().__init__(ns)
        self.ops = []

    def _send(self, request):
        self.ops.append(json.loads(request)["op"])
        return super()._send(request)


def test_a_fixture_is_sent_once_per_kernel_and_again_when_its_sources_change():
    ns, sources = {}, ["def f(ns, x):\n    return x + 1\n"]
    first, second = _Counting(ns), _Counting(ns)  # two checks in one kernel
    assert first.fixture("plus", sources, "f", x=1) == 2 and first.ops == ["call", "define", "call"]
    assert second.fixture("plus", sources, "f", x=2) == 3 and second.ops == ["call"]
    changed = _Counting(ns)
    assert changed.fixture("plus", ["def f(ns, x):\n    return x - 1\n"], "f", x=2) == 1
    assert changed.ops == ["call", "define", "call"]


def test_the_probe_is_sent_once_per_kernel_and_again_when_the_kernel_lost_it():
    """A request carries the probe's text only when the kernel lacks it (its first request, or after a
    restart or a submission that deleted it): the reply says NameError, and the request is sent again."""
    import asyncio
    import threading

    ns, sent = {"Seq": _Sequence}, []

    async def ask(code, timeout):
        sent.append("__w13_probe_ns__ = " in code)  # the probe installed
        try:
            exec(code, ns)
        except NameError:
            return {"content": {"status": "error", "ename": "NameError"}}, True
        return {"content": {"status": "ok", "user_expressions": {
            "r": {"status": "ok", "data": {"text/plain": repr(ns[verdicts.REPLY])}}}}}, True

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        probe = {}
        one = verdicts.GradingKernel(ask, loop, float("inf"), probe)
        one.call("path", name="a.csv")
        one.call("path", name="b.csv")
        two = verdicts.GradingKernel(ask, loop, float("inf"), probe)  # the next check, same kernel
        two.call("path", name="c.csv")
        assert sent == [True, False, False]
        del ns["__w13_serve__"]
        assert K.value(two.call("path", name="d.csv"), str).endswith("d.csv")
        assert sent[3:] == [False, True] and probe == {"installed": True}
    finally:
        loop.call_soon_threadsafe(loop.stop)


def _notebooks_train_epoch(*args, **kwargs):
    raise RuntimeError("the notebook's own train_epoch ran")


def test_exercise_2_s_visible_twin_runs_compare_schedulers_with_the_reference_training_functions():
    """ex2_tests_structure's twin replaces exactly week13_checks.ex2.REPLACED_WHILE_COMPARING while the
    student's compare_schedulers runs, on a network and data of its own (a broken Cell 2, 3 or 4
    costs that cell only), and puts the notebook's own back afterwards; the sample harness packs
    Cell 4's and Exercise 2's samples together on the strength of it."""
    from week13_checks import ex2

    cell = next(c for c in nbs.read(SOURCE_NB).cells if nbs.grade_id(c) == "ex2_solution")
    ns = {}
    exec(compile("import torch\nimport torch.nn as nn\n" + cell.source, "ex2_solution", "exec"), ns)
    own = {name: _notebooks_train_epoch for name in ex2.REPLACED_WHILE_COMPARING}
    ns.update(own)  # no SimpleMLP, X_train or y_train either: the twin needs none of them
    assert week13_checks.decide("ex2_tests_structure", K.LocalKernel(ns)) is None
    assert {name: ns[name] for name in own} == own
    del ns["evaluate"]  # a name the notebook never defined is not left behind
    assert week13_checks.decide("ex2_tests_structure", K.LocalKernel(ns)) is None and "evaluate" not in ns
    # a train_epoch bound when the cell ran (a default argument) is the notebook's: the replacement
    # cannot reach it, and the harness counts it as reaching Cell 4 (tests/unit/test_samples.py)
    header = "def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):"
    bound = cell.source.replace(header, header[:-2] + ", step=train_epoch):").replace("= train_epoch(", "= step(")
    assert bound != cell.source and "step(model" in bound
    exec(compile(bound, "ex2_solution", "exec"), ns)
    assert "the notebook's own train_epoch ran" in week13_checks.decide("ex2_tests_structure", K.LocalKernel(ns))
