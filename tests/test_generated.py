"""Everything generated is in sync with source/, clean, and shows the lesson's results."""

import filecmp
import json

import pytest

from coursetools import ASSIGNMENT, NOTEBOOK, RELEASE_NB, REPO, SOURCE_NB, WORKED_NB
from coursetools import notebooks as nbs
from coursetools.data import write_wine_csvs
from coursetools.grading import nbgrader


def _tree(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_release_is_what_generate_assignment_makes(scratch):
    nbgrader(["generate_assignment", ASSIGNMENT, "--force"], scratch)
    fresh, committed = scratch / "release", REPO / "release"
    assert _tree(fresh) == _tree(committed)
    for rel in _tree(committed):
        assert filecmp.cmp(fresh / rel, committed / rel, shallow=False), f"release/{rel} is out of date: run make release"


def _comparable(nb):
    """The notebook with image bytes replaced by their MIME type.

    PNG bytes are the one thing treated as volatile: rasterisation may differ
    in the last bits between machines. Every text output (numbers included),
    every source line and all metadata are compared exactly.
    """
    data = json.loads(json.dumps(nb))
    for cell in data["cells"]:
        for output in cell.get("outputs", []):
            for mime in list(output.get("data", {})):
                if mime.startswith("image/"):
                    output["data"][mime] = f"<{mime}>"
    return data


def test_worked_notebook_is_what_make_notebooks_makes(tmp_path):
    fresh = nbs.build_worked_notebook(tmp_path / "notebooks" / NOTEBOOK)
    assert _comparable(nbs.read(fresh)) == _comparable(nbs.read(WORKED_NB)), \
        "notebooks/ is out of date: run make notebooks"
    assert _tree(tmp_path / "notebooks") == _tree(REPO / "notebooks")
    for csv in (tmp_path / "notebooks" / "data").iterdir():
        assert filecmp.cmp(csv, REPO / "notebooks" / "data" / csv.name, shallow=False)


def test_data_files_are_what_the_export_makes(tmp_path):
    for path in write_wine_csvs(tmp_path):
        assert filecmp.cmp(path, SOURCE_NB.parent / "data" / path.name, shallow=False), f"{path.name} is out of date"


def test_validate_invert_passes_on_the_release():
    """The untouched release fails its own tests (nbgrader validate exits 0 either way: read its output)."""
    proc = nbgrader(["validate", "--invert", str(RELEASE_NB)], REPO)
    out = proc.stdout + proc.stderr
    assert "Success!" in out, out
    assert "VALIDATION FAILED" not in out


@pytest.mark.parametrize("path,outputs", [(SOURCE_NB, False), (RELEASE_NB, False), (WORKED_NB, True)],
                         ids=["source", "release", "notebooks"])
def test_notebooks_are_clean(path, outputs):
    assert nbs.clean_problems(path, allow_outputs=outputs) == []


def test_worked_notebook_carries_no_grading_machinery():
    nb = nbs.read(WORKED_NB)
    text = json.dumps(nb)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN", "week13_checks", '"nbgrader"'):
        assert marker not in text, marker
    assert not any("raise NotImplementedError" in c.source for c in nb.cells if c.cell_type == "code")
    assert all(c.cell_type != "code" or c.execution_count for c in nb.cells), "every code cell is executed"


def test_release_keeps_the_source_cell_ids_and_grade_cells():
    source, release = nbs.read(SOURCE_NB), nbs.read(RELEASE_NB)
    assert [c.id for c in release.cells] == [c.id for c in source.cells]
    grades = {nbs.grade_id(c): c.metadata["nbgrader"].get("points", 0) for c in source.cells if nbs.grade_id(c)}
    assert sum(grades.values()) == 100
    for part, points in {"cell1": 5, "cell2": 5, "cell3": 5, "cell4": 5, "cell5": 5, "cell6": 5,
                         "ex1": 20, "ex2": 20, "ex3": 15, "ex4": 15}.items():
        assert sum(p for gid, p in grades.items() if gid.startswith(part + "_")) == points, part
    assert all(gid.split("_")[0] in {"cell1", "cell2", "cell3", "cell4", "cell5", "cell6", "ex1", "ex2", "ex3", "ex4"}
               for gid in grades)


def _outputs(cell_id):
    nb = nbs.read(WORKED_NB)
    cell = next(c for c in nb.cells if c.id == cell_id)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
    return text, images


@pytest.mark.parametrize("cell_id,expected", [
    ("cell1-show", "shape of (3, 1) + (3,): (3, 3)"),
    ("cell1-show", "dy/dx at x = 2: 7.0"),
    ("cell2-show", "trainable parameters: 652"),
    ("cell3-show", "batches per epoch: 25"),
    ("cell5-roundtrip", "parameters identical after reload: True"),
    ("cell5-resume", "equals the uninterrupted 50-epoch run: True"),
])
def test_worked_notebook_shows_the_lesson_figures(cell_id, expected):
    text, _ = _outputs(cell_id)
    assert expected in text


def test_worked_notebook_manual_gradient_equals_autograd():
    text, _ = _outputs("cell6-compare")
    lines = dict(line.split(":", 1) for line in text.strip().splitlines())
    assert json.loads(lines["autograd"]) == json.loads(lines["by hand"]) == [3.0, -4.0, 1.0]


@pytest.mark.parametrize("cell_id", ["cell4-plot", "ex2-plot", "ex3-experiment"])
def test_worked_notebook_has_its_figures(cell_id):
    _, images = _outputs(cell_id)
    assert len(images) == 1
