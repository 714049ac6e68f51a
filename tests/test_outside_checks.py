"""RobustExecute decides the checks of `week13_checks.DECIDED_OUTSIDE` in the grader's process, from
plain data a real kernel hands back (coursetools/verdicts.py): the test cell's own code never runs,
a forged probe gains nothing, and a request that loops, swallows the interrupt or kills the kernel
costs that cell only. Tiny notebooks, a plain kernel (the sandbox's own tests are test_sandbox.py)."""

import nbformat
import pytest

from coursetools import SOURCE_NB
from coursetools import notebooks as nbs
from coursetools.preprocessors import NotRunIsFailure, RobustExecute

IMPORTS = "import csv\nimport numpy as np\nimport torch\nfrom torch.utils.data import DataLoader, Dataset\n"
REFERENCE = next(c.source for c in nbs.read(SOURCE_NB).cells if nbs.grade_id(c) == "ex1_solution")
# The hidden cell as the gradebook holds it, and a line that would show if the cell's code ran.
HIDDEN = '__import__("week13_checks").run("ex1_hidden_indexing", globals())\nraise RuntimeError("the cell ran")'


def _cell(source, gid, points=2):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def grade(answer, timeout=60):
    """Run [imports + answer, the hidden indexing cell, a later test cell that reads a name of the
    first cell]; the graded cells."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(IMPORTS + answer + "\nbefore = 41"),
        _cell(HIDDEN, "ex1_hidden_indexing"),
        _cell("assert before + 1 == 42", "later"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = RobustExecute(timeout=timeout, probe_timeout=3)
    nb, resources = executor.preprocess(nb, {"metadata": {"path": "."}})
    nb, _ = NotRunIsFailure().preprocess(nb, resources)
    return nb.cells[1], nb.cells[2]


def errors(cell):
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def test_the_reference_passes_and_the_cell_s_own_code_never_runs():
    hidden, later = grade(REFERENCE)
    assert errors(hidden) == [] and hidden.execution_count
    assert errors(later) == []


# A subclass of the reference: one method replaced. Each line below is a mistake or an attack.
BROKEN = "\n\nclass MyTabularDataset(MyTabularDataset):\n    def __getitem__(self, idx):\n{body}\n"
WRONG_INDEX = "        if idx >= len(self): idx = idx % len(self)\n        return super().__getitem__(idx)"


def test_a_forged_probe_in_the_notebook_gains_nothing():
    """The notebook defines the name the grader's requests call, answering "fine" to everything."""
    forged = REFERENCE + BROKEN.format(body=WRONG_INDEX) + (
        "\nimport json\n__w13_serve__ = lambda ns, request: json.dumps({'ok': {'kind': 'int', 'value': 9}})\n")
    hidden, later = grade(forged)
    assert errors(hidden) and errors(hidden)[0][0] == "CheckFailed"
    assert errors(later) == []


def test_a_mistake_fails_with_its_one_line_message():
    hidden, _ = grade(REFERENCE + BROKEN.format(body=WRONG_INDEX))
    assert errors(hidden) == [("CheckFailed", "ds[9] on 9 rows should raise IndexError, but returned a value")]


@pytest.mark.parametrize("body, extra", [
    ("        while idx >= len(self): pass\n        return super().__getitem__(idx)", None),
    ("        import time\n        while idx >= 9:\n            try:\n                time.sleep(0.01)\n"
     "            except KeyboardInterrupt:\n                pass\n        return super().__getitem__(idx)", "KernelUnresponsive"),
    ("        if idx >= len(self): __import__('os')._exit(3)\n        return super().__getitem__(idx)", "KernelDied"),
], ids=["loops", "swallows the interrupt", "kills the kernel"])
def test_code_that_loops_or_dies_in_a_request_costs_that_cell_only(body, extra):
    hidden, later = grade(REFERENCE + BROKEN.format(body=body), timeout=4)
    names = [name for name, _ in errors(hidden)]
    assert names == (["KernelDied"] if extra == "KernelDied" else ["CheckFailed"] + ([extra] if extra else []))
    if extra != "KernelDied":
        assert "interrupted" in errors(hidden)[0][1]
    assert errors(later) == [], "the later cell runs, in a fresh kernel with the earlier cells replayed"
