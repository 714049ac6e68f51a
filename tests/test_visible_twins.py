"""The visible tests decided outside the kernel when grading (week13_checks/visible.py) agree with
the cells students run: on every sample submission that answers their parts, and on a few more
mistakes, the cell as written and its twin (the same requests a grading kernel gets, served here
by a LocalKernel on the same namespace) pass together or fail together, with the same message.

Each sample's notebook runs in this process, cell by cell (its teaching cells blanked, as the
grader suite grades mistakes); no kernel, so the whole table takes about a minute on 2 cores.
"""

import contextlib
import io
import os
import re
import shutil

import matplotlib
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import sample_submissions
from coursetools import REPO
from coursetools import notebooks as nbs
from sample_submissions.harness import Sample
from week13_checks import VISIBLE, _client, decide

matplotlib.use("Agg")
RELEASE = REPO / "release" / "week13" / "pytorch_fundamentals.ipynb"
SOURCE = REPO / "source" / "week13" / "pytorch_fundamentals.ipynb"
PARTS = {g.split("_tests_")[0] for g in VISIBLE}  # Cells 1 to 6, Exercises 1 to 4

# Mistakes no sample of the suite makes in these cells, so that every twin is seen to reject one.
MORE = [
    Sample("twin_softmax_logits", "forward ends in a softmax", {"cell2_solution": [
        ("return self.fc2(self.relu(self.fc1(x)))", "return torch.softmax(self.fc2(self.relu(self.fc1(x))), dim=1)")]}),
    Sample("twin_no_relu", "forward skips the ReLU", {"cell2_solution": [
        ("return self.fc2(self.relu(self.fc1(x)))", "return self.fc2(self.fc1(x))")]}),
    Sample("twin_sigmoid_layer", "relu is a Sigmoid", {"cell2_solution": [("self.relu = nn.ReLU()", "self.relu = nn.Sigmoid()")]}),
    Sample("twin_train_not_shuffled", "the training loader does not shuffle", {"cell3_solution": [
        ("batch_size=32, shuffle=True)", "batch_size=32, shuffle=False)")]}),
    Sample("twin_test_shuffled", "the test loader shuffles", {"cell3_solution": [
        ("TensorDataset(X_test, y_test), batch_size=32, shuffle=False)", "TensorDataset(X_test, y_test), batch_size=32, shuffle=True)")]}),
    Sample("twin_batch_64", "batches of 64", {"cell3_solution": [("batch_size=32, shuffle=True)", "batch_size=64, shuffle=True)")]}),
    Sample("twin_float64_features", "float64 features", {"cell3_solution": [
        ("X_train = torch.tensor(_X_tr, dtype=torch.float32)", "X_train = torch.tensor(_X_tr)")]}),
    Sample("twin_gradients_swapped", "dw1 and dw2 swapped", {"cell6_solution": [("return x1, x2, 1.0", "return x2, x1, 1.0")]}),
    Sample("twin_gradients_two", "two gradients", {"cell6_solution": [("return x1, x2, 1.0", "return x1, x2")]}),
    Sample("twin_db_zero", "db = 0", {"cell6_solution": [("return x1, x2, 1.0", "return x1, x2, 0.0")]}),
    Sample("twin_dydx_float", "dydx a Python float", {"cell1_solution": [("dydx = _x.grad", "dydx = _x.grad.item()")]}),
    Sample("twin_metrics_dropped", "save_checkpoint drops the metrics", {"cell5_solution": [("        **metrics,\n", "")]}),
    Sample("twin_load_returns_none", "load_checkpoint returns nothing", {"cell5_solution": [
        ("    return checkpoint", "    return None")]}),
    Sample("twin_eval_restores_train_mode", "evaluate puts the model back in train mode (correct)", {"cell4_solution": [
        ("            seen += batch_y.size(0)\n    return", "            seen += batch_y.size(0)\n    model.train()\n    return")]}),
]


# The visible cells of Cell 4 and Exercises 2 and 3 train on Cell 3's X_train (Exercise 2's also with
# Cell 2's SimpleMLP and Cell 4's train_epoch and evaluate), so a mistake there fails them too; their
# twins train a network of their own on data of their own (Exercise 2's with the reference train_epoch
# and evaluate, as its hidden checks do), so that mistake costs its own cell only (the twin passes, and
# that is fairer).
OTHER_PARTS_DATA = {("twin_float64_features", "ex3"), ("twin_float64_features", "cell4"),
                    ("twin_float64_features", "ex2"), ("cell4_float_targets", "ex2")}


def _answers_these_parts(sample):
    return sample.student in ("reference", "untouched_release") or any(
        g.split("_")[0] in PARTS for g in sample.edits)


# sample_submissions.ALL holds correct variants and mistakes only (no hostile code runs in this process)
SAMPLES = [s for s in sample_submissions.ALL if s.raw is None and _answers_these_parts(s)] + MORE


def _verdicts(sample, folder):
    """{grade id: (the cell's own error or None, the twin's message or None)} of the visible cells
    decided outside, with the notebook's cells run in order in one namespace."""
    nb = sample.notebook(nbs.read(RELEASE), nbs.read(SOURCE))
    ns, transform, out = {"__name__": "__main__", "In": [""]}, TransformerManager().transform_cell, {}
    here = os.getcwd()
    os.chdir(folder)  # a scratch folder with the release's data/ (whatever the code writes stays there)
    try:
        for cell in nb.cells:
            if cell.cell_type != "code" or not cell.source.strip() or "week13_checks" in cell.source:
                continue  # hidden cells are proven elsewhere (tests/test_outside_checks.py)
            gid, code = nbs.grade_id(cell), transform(cell.source)
            ns["In"].append(cell.source)
            twin = decide(gid, _client.LocalKernel(ns)) if gid in VISIBLE else None
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    exec(compile(code, f"<{gid or 'cell'}>", "exec"), ns)
                own = None
            except Exception as e:
                own = e
            if gid in VISIBLE:
                out[gid] = (own, twin)
    finally:
        os.chdir(here)
    return out


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("twins")
    shutil.copytree(RELEASE.parent / "data", folder / "data")
    return {s.student: _verdicts(s, folder) for s in SAMPLES}


@pytest.mark.parametrize("student", [s.student for s in SAMPLES])
def test_the_cell_and_its_twin_agree(table, student):
    got = table[student]
    assert set(got) == VISIBLE, "every visible cell decided outside was reached"
    failing_elsewhere = set()
    for gid, (own, twin) in got.items():
        if (student, gid.split("_tests_")[0]) in OTHER_PARTS_DATA:  # the cell fails on another part's mistake
            assert twin is None, f"{gid}: its twin says {twin!r}"
            failing_elsewhere |= {gid.split("_tests_")[0]} if own is not None else set()
            continue
        assert (own is None) == (twin is None), f"{gid}: the cell says {own!r}, its twin {twin!r}"
        if isinstance(own, AssertionError):  # the same error; the twins of Cells 4 and 6 draw other inputs
            assert _numbers_blanked(twin) == _numbers_blanked(f"AssertionError: {own}"), f"{gid}: the same message"
        elif isinstance(own, NameError) and twin.startswith("NotImplementedError"):  # the twin met a stub first
            assert student == "untouched_release", f"{gid}: {twin}"
        elif own is not None:  # the student's code raised: the twin shows the same exception
            assert twin == f"{type(own).__name__}: {own}", f"{gid}: {twin}"
    listed = {part for s, part in OTHER_PARTS_DATA if s == student}
    assert failing_elsewhere == listed, f"listed in OTHER_PARTS_DATA, but no cell of theirs fails: {listed - failing_elsewhere}"


def _numbers_blanked(message):
    return re.sub(r"-?\d+(\.\d+)?", "#", message)


def test_the_reference_passes_and_every_twin_rejects_a_mistake(table):
    assert all(twin is None for _, twin in table["reference"].values())
    rejected = {gid for student, got in table.items() if student != "untouched_release"
                for gid, (_, twin) in got.items() if twin is not None}
    assert rejected == VISIBLE, f"never seen failing: {sorted(VISIBLE - rejected)}"
