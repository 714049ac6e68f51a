"""Crafted submissions that attack the grading process itself (graded by `make grade-class`).

Each must come out as `status` says, with full marks in every part not
listed in `loses`: restored test cells, tags that are ignored, warnings
that cost nothing, loops and crashes that cost only their part, hacks that
gain nothing, broken files that get a clear status.
"""

import copy

import nbformat

from coursetools import notebooks as nbs
from .harness import Sample

WRONG_STD = {"ex1_solution": [("features.std(axis=0)", "features.std(axis=0, ddof=1)")]}
WRONG_LR = {"ex2_solution": [("T_max=epochs", "T_max=50")]}
WRONG_ACCUMULATION = {"ex3_solution": [("y_part) / accumulation_steps", "y_part)")]}


def _cells(nb, prefix):
    return [c for c in nb.cells if (nbs.grade_id(c) or "").startswith(prefix)]


def delete_tests(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if nbs.grade_id(c) not in ("ex1_tests_wine", "cell2_tests_count", "ex4_hidden_metrics")]
    return nb


def duplicate_tests_and_fake_grade(nb):
    nb = copy.deepcopy(nb)
    out = []
    for cell in nb.cells:
        out.append(cell)
        if nbs.grade_id(cell) in ("cell1_tests_broadcast", "ex2_hidden_lr"):
            twin = copy.deepcopy(cell)
            twin.id = cell.id + "-copy"
            out.append(twin)
    fake = nbformat.v4.new_code_cell("print('bonus')")
    fake.id = "my-bonus"
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus_points", "locked": False, "points": 100,
                                 "schema_version": 3, "solution": False, "task": False}
    out.append(fake)
    nb.cells = out
    return nb


def split_solution(nb):
    nb = copy.deepcopy(nb)
    out = []
    for cell in nb.cells:
        if nbs.grade_id(cell) == "ex4_solution":
            head, sep, tail = cell.source.partition("\ndef fit(")
            second = copy.deepcopy(cell)
            cell.source, second.source, second.id = head, "def fit(" + tail, cell.id + "-2"
            out += [cell, second]
        else:
            out.append(cell)
    nb.cells = out
    return nb


def tag_tests(tags):
    def transform(nb):
        nb = copy.deepcopy(nb)
        for cell in _cells(nb, "ex1_"):
            if cell.metadata["nbgrader"].get("grade"):
                cell.metadata["tags"] = list(tags)
        return nb
    return transform


def tests_to_markdown(nb):
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if (nbs.grade_id(cell) or "").startswith("ex2_") and cell.metadata["nbgrader"].get("grade"):
            md = nbformat.v4.new_markdown_cell(cell.source)
            md.id, md.metadata = cell.id, cell.metadata
            nb.cells[i] = md
    return nb


def other_kernelspec(nb):
    nb = copy.deepcopy(nb)
    nb.metadata["kernelspec"] = {"display_name": "Julia 1.9", "language": "julia", "name": "julia-1.9"}
    return nb


def huge_outputs(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("id") == "cell1-show":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 3_000_000)]
            cell.source += "\nfor _i in range(30000):\n    print('a line of output', _i)"
    return nb


def _prepend(nb, code, gid="ex1_solution"):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbs.grade_id(cell) == gid:
            cell.source = code.strip("\n") + "\n\n" + cell.source
    return nb


SAMPLES = [
    Sample("robust_deleted_tests", "deletes three test cells (one hidden)", transform=delete_tests),
    Sample("robust_duplicated_tests", "copy-pastes two test cells and adds a fake 100-point grade cell",
           transform=duplicate_tests_and_fake_grade),
    Sample("robust_split_solution", "splits the Exercise 4 solution cell in two", transform=split_solution),
    Sample("robust_skip_tags", "wrong std, and tags the Exercise 1 tests skip-execution / raises-exception",
           WRONG_STD, loses=("ex1",), transform=tag_tests(["skip-execution", "raises-exception"])),
    Sample("robust_markdown_tests", "wrong T_max, and turns the Exercise 2 tests into markdown",
           WRONG_LR, loses=("ex2",), transform=tests_to_markdown),
    Sample("robust_warning", "correct code that warns on stderr",
           {"ex1_solution": [("        target_index = header.index(target_column)\n",
                              "        target_index = header.index(target_column)\n"
                              "        import warnings; warnings.warn('reading a CSV file')\n")]}),
    Sample("robust_interrupt_loop", "the Exercise 3 solution cell loops forever and swallows KeyboardInterrupt",
           loses=("ex3",), transform=lambda nb: _prepend(nb, """
import time
while True:
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass
""", gid="ex3_solution")),
    Sample("robust_kernel_death", "fit kills the kernel with os._exit",
           {"ex4_solution": [("    model.to(device)\n", "    import os\n    os._exit(1)\n")]}, loses=("ex4",)),
    Sample("robust_custom_exc_hack", "wrong std, and silences every error with a custom exception handler",
           WRONG_STD, loses=("ex1",),
           transform=lambda nb: _prepend(nb, "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)")),
    Sample("robust_transformer_hack", "wrong T_max, and an input transformer that blanks every test cell",
           WRONG_LR, loses=("ex2",), transform=lambda nb: _prepend(nb, """
get_ipython().input_transformers_post.append(
    lambda lines: ["pass\\n"] if any('\"\"\"' in line and ("Check" in line or "Hidden" in line) for line in lines) else lines)
""")),
    Sample("robust_monkeypatch_hack", "wrong accumulation, and patches torch.allclose and isinstance to say yes",
           WRONG_ACCUMULATION, loses=("ex3",), transform=lambda nb: _prepend(nb, """
import builtins as _b
torch.allclose = lambda *a, **k: True
_b.abs = lambda x: 0.0
""")),
    Sample("robust_registry_hack", "wrong std, and replaces the hidden checks' registry and verdict function in the "
           "kernel where it can import them (the module's name spelt in pieces)",
           WRONG_STD, loses=("ex1",), fails=("ex1_tests_wine", "ex1_hidden_statistics"),
           transform=lambda nb: _prepend(nb, """
import importlib as _il
try:
    _w = _il.import_module("week" + "13_che" + "cks")  # the name in pieces: no text pattern matches it
except ImportError:  # the hidden checks are not in the sandbox
    _w = None
if _w is not None:
    for _g in list(_w.DECIDED_OUTSIDE):
        _w.DECIDED_OUTSIDE[_g] = lambda kernel: None
    _w.decide = lambda grade_id, kernel: None
""")),
    Sample("robust_frame_hack", "SGD instead of Adam, and compare_schedulers returns the reference runs it finds "
           "in the frames that called it (a `reference` function in their globals)",
           {"ex2_solution": [("torch.optim.Adam(model.parameters(), lr=lr)", "torch.optim.SGD(model.parameters(), lr=lr)"),
                             ("    return histories", """    import sys as _s
    _f = _s._getframe(1)
    while _f is not None:
        _ref = _f.f_globals.get("reference")
        if callable(_ref):
            return {"constant": _ref(epochs, lr, seed, False), "cosine": _ref(epochs, lr, seed, True)}
        _f = _f.f_back
    return histories""")]},
           loses=("ex2",), fails=("ex2_hidden_constant", "ex2_hidden_cosine", "ex2_hidden_arguments")),
    Sample("robust_observation_hack", "no zero_grad(), and forges what the kernel observes (read from the fixture "
           "the grader sends): gradients look zero at each backward() and present at each step()",
           {"cell4_solution": [("        optimizer.zero_grad()\n", "")]}, loses=("cell4",),
           fails=("cell4_tests_train_epoch",), transform=lambda nb: _prepend(nb, """
import sys as _s


def _forged_any(self, *args, **kwargs):  # called by the fixture's clean(), from on_backward or from the step spy
    return torch.tensor(_s._getframe(3).f_code.co_name != "on_backward")


torch.Tensor.any = _forged_any
torch.equal = lambda *args, **kwargs: True
""", gid="cell4_solution")),
    Sample("robust_event_hack", "wrong std, and a pre_run_cell hook that silences errors in every test cell",
           WRONG_STD, loses=("ex1",), transform=lambda nb: _prepend(nb, """
def _cheat(info):
    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
get_ipython().events.register("pre_run_cell", _cheat)
""")),
    Sample("robust_invalid_json", "a notebook file that is not valid JSON", raw='{"cells": [', status="not graded"),
    Sample("robust_renamed", "the notebook saved under another name", filename="pytorch_fundamentals (1).ipynb"),
    Sample("robust_missing", "the submission holds no notebook", filename=None, status="not graded"),
    Sample("robust_wrong_kernelspec", "a notebook saved with a Julia kernelspec", transform=other_kernelspec),
    Sample("robust_huge_output", "3 MB of stored output and 30,000 printed lines", transform=huge_outputs),
]


# ------------------------------------------------------------------ answers where students put them

def _solution_source(nb, gid):
    return next(c.source for c in nb.cells if nbs.grade_id(c) == gid)


def answer_in_new_cell(gid, keep_stub=False, empty_stub=False):
    """The solution cell deleted (or left as the stub, or emptied), the answer in a new plain cell
    just before where the solution cell was."""
    def transform(nb):
        nb = copy.deepcopy(nb)
        out = []
        for cell in nb.cells:
            if nbs.grade_id(cell) == gid:
                answer = nbformat.v4.new_code_cell(cell.source)
                answer.id = f"my-{gid.replace('_', '-')}"
                out.append(answer)
                if keep_stub or empty_stub:
                    cell.source = "" if empty_stub else _release_stub(gid)
                    out.append(cell)
                continue
            out.append(cell)
        nb.cells = out
        return nb
    return transform


def _release_stub(gid):
    from coursetools import RELEASE_NB

    return _solution_source(nbs.read(RELEASE_NB), gid)


def move_solution_after(gid, after_id):
    def transform(nb):
        nb = copy.deepcopy(nb)
        cell = next(c for c in nb.cells if nbs.grade_id(c) == gid)
        nb.cells.remove(cell)
        index = next(i for i, c in enumerate(nb.cells) if c.get("id") == after_id)
        nb.cells.insert(index + 1, cell)
        return nb
    return transform


FREE_POINTS = '''
resume_matches = True
params_identical = True
schedules = {name: {"lr": [1e-3] * 50, "train_loss": [0.1] * 50, "test_loss": [0.1] * 50, "test_acc": [1.0] * 50}
             for name in ("constant", "cosine")}
'''


def claim_free_points(nb):
    """Cell 5 without the optimiser and RNG state, no compare_schedulers at all, and the flags the
    old tests read set by hand in the student's own cells."""
    nb = copy.deepcopy(nb)
    out = []
    for cell in nb.cells:
        out.append(cell)
        if cell.get("id") in ("cell5-resume", "ex2-run"):
            flags = nbformat.v4.new_code_cell(FREE_POINTS.strip())
            flags.id = "my-flags-" + cell.id
            out.append(flags)
    nb.cells = out
    return nb


# A fit that misbehaves only when a hidden check calls it (epochs=2: ex4_hidden_moves_to_device);
# the visible tests and the notebook's own run use other epoch counts.
_IN_HIDDEN_CHECK = "    if epochs == 2:\n"
HIDDEN_LOOP = {"ex4_solution": [("    model.to(device)\n", _IN_HIDDEN_CHECK + "        import time\n"
                                 "        while True:\n            time.sleep(0.01)\n    model.to(device)\n")]}
HIDDEN_SWALLOW = {"ex4_solution": [("    model.to(device)\n", _IN_HIDDEN_CHECK + "        import time\n"
                                    "        while True:\n            try:\n                time.sleep(0.01)\n"
                                    "            except KeyboardInterrupt:\n                pass\n    model.to(device)\n")]}
HIDDEN_EXIT = {"ex4_solution": [("    model.to(device)\n", _IN_HIDDEN_CHECK + "        import os\n"
                                 "        os._exit(3)\n    model.to(device)\n")]}

SAMPLES += [
    Sample("robust_answer_in_new_cell", "deletes the Exercise 1 solution cell and writes the class in a new cell",
           transform=answer_in_new_cell("ex1_solution")),
    Sample("robust_answer_before_stub", "writes fit in a new cell before the untouched Exercise 4 stub",
           transform=answer_in_new_cell("ex4_solution", keep_stub=True)),
    Sample("robust_emptied_solution", "empties the Exercise 2 solution cell, the answer in a new cell above it",
           transform=answer_in_new_cell("ex2_solution", empty_stub=True)),
    Sample("robust_moved_solution", "moves the Cell 6 solution cell below its test cell",
           transform=move_solution_after("cell6_solution", "cell6-tests-gradients")),
    Sample("robust_free_points", "no compare_schedulers, a checkpoint without optimiser and RNG state, and "
           "resume_matches / params_identical / schedules set by hand",
           {"cell5_solution": [('        "optimizer_state_dict": optimizer.state_dict(),\n', ""),
                               ('        "rng_state": torch.get_rng_state(),\n', ""),
                               ('    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])\n', ""),
                               ('    torch.set_rng_state(checkpoint["rng_state"])\n', "")],
            "ex2_solution": "def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):\n"
                            "    return schedules"},
           loses=("cell5", "ex2"), transform=claim_free_points),
    Sample("robust_hidden_timeout", "fit loops forever when a hidden check calls it", HIDDEN_LOOP, loses=("ex4",)),
    Sample("robust_hidden_swallow", "fit swallows the interrupt in an endless loop inside a hidden check",
           HIDDEN_SWALLOW, loses=("ex4",)),
    Sample("robust_hidden_exit", "fit kills the kernel inside a hidden check", HIDDEN_EXIT, loses=("ex4",)),
]
