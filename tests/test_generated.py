"""Everything generated is in sync with source/, clean, and shows the lesson's results."""

import filecmp
import json
import re

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


@pytest.mark.parametrize("cell_id", ["cell1-broadcast-figure", "cell2-graph", "cell3-plot", "cell4-plot", "ex2-plot",
                                     "ex3-experiment"])
def test_worked_notebook_has_its_figures(cell_id):
    _, images = _outputs(cell_id)
    assert len(images) == 1


def _numbers(line):
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line)]


def test_worked_notebook_shows_the_three_classic_errors_with_their_real_messages():
    text, _ = _outputs("cell1-errors")
    assert "shape: RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)" in text
    assert "dtype: RuntimeError: expected target dtype to be Long" in text
    assert "device: RuntimeError: Tensor on device meta is not on the expected device cpu" in text
    view, _ = _outputs("cell1-view-reshape")
    assert "view size is not compatible with input tensor's size and stride" in view
    shared, _ = _outputs("cell1-from-numpy")
    assert "torch.from_numpy sees the change: [5.0, 0.0, 0.0] | torch.tensor made a copy: [0.0, 0.0, 0.0]" in shared


def test_worked_notebook_shows_autograd_graph_detach_and_non_scalar_backward():
    text, _ = _outputs("cell1-grad-fn")
    assert text.splitlines()[0] == "y.grad_fn: AddBackward0" and text.count("AccumulateGrad") == 2
    detach, _ = _outputs("cell1-detach")
    assert "with s detached, dy/dx = 4.0" in detach
    assert "grad can be implicitly created only for scalar outputs" in detach
    assert "gradient of sum(v**2): [2.0, 4.0, 6.0]" in detach
    graph, _ = _outputs("cell2-graph")
    assert "leaves with .grad: ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']" in graph


def test_worked_notebook_two_layer_gradient_by_hand_equals_autograd():
    text, _ = _outputs("cell6-two-layer")
    assert "dL/dW1 shape: (8, 10)" in text and "equal up to float32 rounding: True" in text


def test_worked_notebook_weights_only_refuses_numpy_scalars():
    text, _ = _outputs("cell5-weights-only")
    assert text.startswith("UnpicklingError: WeightsUnpickler error: Unsupported global")
    assert "as a Python float it loads: {'test_acc': 0.955}" in text


def test_worked_notebook_ablation_each_missing_part_changes_the_run():
    text, _ = _outputs("cell5-ablation")
    lines = {line.split(":")[0].strip(): _numbers(line.split(":", 1)[1]) for line in text.strip().splitlines()}
    assert lines["resumed with the complete checkpoint"][0] == 0.0
    assert lines["resumed without the optimizer state"][0] > 1e-3  # 0.0296 after 5 epochs on the reference machine
    assert lines["resumed without the RNG state"][0] > 1e-3  # 0.0089


def test_worked_notebook_standardising_wins_on_wine():
    text, _ = _outputs("ex1-why-standardise")
    raw, std = (_numbers(line)[0] for line in text.strip().splitlines())
    assert std == 1.0 and raw < 0.9  # 1.000 vs 0.833


def test_worked_notebook_explains_the_schedules():
    text, _ = _outputs("ex2-reading")
    assert "last recorded lr 9.87e-07" in text
    line = next(line for line in text.splitlines() if line.startswith("final train loss"))
    constant, cosine = _numbers(line)
    assert cosine > constant  # cosine is under-trained at lr 1e-3 over 50 epochs
    high, _ = _outputs("ex2-higher-lr")
    (loss_constant, acc_constant), (loss_cosine, acc_cosine) = (_numbers(line) for line in high.strip().splitlines())
    assert loss_cosine < loss_constant and acc_cosine >= acc_constant  # 0.0885 < 0.1201, 0.970 >= 0.945 (lr 2e-2, 15 epochs)
