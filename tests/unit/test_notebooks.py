"""coursetools.notebooks: sample edits, solution/hidden markers, notebook cleanliness."""

import json

import nbformat
import pytest

from coursetools import notebooks as nbs


@pytest.fixture
def two_cells(nb):
    return nb.notebook(nb.solution("sol", "x = 1\ny = x + 1\nz = x + 1"), nb.test("t", "assert y == 2"))


def test_apply_edits_replaces_once_and_copies(two_cells):
    out = nbs.apply_edits(two_cells, {"sol": [("x = 1", "x = 5")]})
    assert out.cells[0].source == "x = 5\ny = x + 1\nz = x + 1"
    assert two_cells.cells[0].source == "x = 1\ny = x + 1\nz = x + 1"  # the input is not changed


def test_apply_edits_exact_count(two_cells):
    out = nbs.apply_edits(two_cells, {"sol": [("x + 1", "x - 1", 2)]})
    assert out.cells[0].source == "x = 1\ny = x - 1\nz = x - 1"


@pytest.mark.parametrize("edit", [("x + 1", "x - 1"), ("x + 1", "x - 1", 3), ("not there", "")])
def test_apply_edits_raises_when_the_count_is_not_exact(two_cells, edit):
    with pytest.raises(ValueError, match="text to replace found"):
        nbs.apply_edits(two_cells, {"sol": [edit]})


def test_apply_edits_whole_cell_replacement(two_cells):
    out = nbs.apply_edits(two_cells, {"sol": "\n\nanswer = 42\n\n"})
    assert out.cells[0].source == "answer = 42"


def test_apply_edits_unknown_grade_id(two_cells):
    with pytest.raises(KeyError, match="nope"):
        nbs.apply_edits(two_cells, {"nope": "x"})


def test_strip_hidden_tests():
    text = "visible = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter = 2"
    assert nbs.strip_hidden_tests(text) == "visible = 1\nafter = 2"
    assert nbs.strip_hidden_tests("a\nb") == "a\nb"


def test_strip_solution_markers():
    text = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    assert nbs.strip_solution_markers(text) == "def f():\n    return 1"


def write(tmp_path, nb):
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_clean_problems_of_a_clean_notebook(tmp_path, nb):
    assert nbs.clean_problems(write(tmp_path, nb.notebook(nb.md("hi", cell_id="a"), nb.code("x", cell_id="b"))),
                              allow_outputs=False) == []


def test_clean_problems_outputs_only_where_allowed(tmp_path, nb):
    cell = nb.code("print(1)", cell_id="b")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cell.execution_count = 1
    path = write(tmp_path, nb.notebook(cell))
    assert nbs.clean_problems(path, allow_outputs=False) == ["cell b: has outputs or an execution count"]
    assert nbs.clean_problems(path, allow_outputs=True) == []


def test_clean_problems_stray_metadata(tmp_path, nb):
    notebook = nb.notebook(nb.code("x", cell_id="a", collapsed=True), nb.code("y", cell_id="b"))
    notebook.metadata["widgets"] = {}
    problems = nbs.clean_problems(write(tmp_path, notebook), allow_outputs=False)
    assert problems == ["notebook metadata beyond ['kernelspec', 'language_info']: ['widgets']",
                        "cell a: stray metadata ['collapsed']"]


def raw_notebook(tmp_path, ids, minor=5):
    cells = [{"cell_type": "code", "metadata": {}, "source": f"x{i}", "outputs": [], "execution_count": None}
             for i in range(len(ids))]
    for cell, cell_id in zip(cells, ids):
        if cell_id is not None:
            cell["id"] = cell_id
    path = tmp_path / "raw.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": minor}))
    return path


def test_clean_problems_cells_without_ids(tmp_path):
    assert nbs.clean_problems(raw_notebook(tmp_path, [None, None], minor=4), allow_outputs=False) == [
        "cell ids missing or repeated"]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("ids", [["same", "same"], ["a", None]])
def test_clean_problems_repeated_or_missing_ids_in_a_file(tmp_path, ids):
    assert "cell ids missing or repeated" in nbs.clean_problems(raw_notebook(tmp_path, ids), allow_outputs=False)


def test_committed_outputs_print_no_float_rounding_digits():
    """The worked notebook's outputs are committed and compared on every machine: a number that only
    float rounding sets (a difference near 1e-8, whose digits differ between CPUs, e.g. with and
    without AVX-512) must be printed as what it means ("below 1e-6: True"), never as its digits."""
    import re

    from coursetools import WORKED_NB

    tiny = re.compile(r"\d(?:\.\d+)?e-(?:0[89]|[1-9]\d)\b")
    found = []
    for cell in nbs.read(WORKED_NB).cells:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(
                "".join(v) if isinstance(v, list) else str(v) for k, v in output.get("data", {}).items()
                if k.startswith("text/"))
            found += [f"{cell.get('id')}: {m.group(0)}" for m in tiny.finditer(text)]
    assert found == []
