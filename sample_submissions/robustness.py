"""Crafted submissions that attack the grading process itself (graded by `make grade-class`).

Each must come out as `status` says, with full marks in every part not
listed in `loses`: restored test cells, tags that are ignored, warnings
that cost nothing, loops and crashes that cost only their part, hacks that
gain nothing, broken files that get a clear status.
"""

import copy

import nbformat

from coursetools import notebooks as nbs
from coursetools.grading import Sample

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
