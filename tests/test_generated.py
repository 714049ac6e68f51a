"""Everything generated is in sync with source/, clean, and shows the lesson's results."""

import filecmp
import json
import re
import shutil
import subprocess

import pytest

from coursetools import ASSIGNMENT, NOTEBOOK, RELEASE_NB, REPO, SOURCE_NB, WORKED_NB
from coursetools import notebooks as nbs
from coursetools.data import write_wine_csvs
from coursetools import grading
from coursetools.grading import nbgrader
from environ import untraced_env
from limits import AUTO_MAX
from sample_submissions import harness


def _tree(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


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


def _clone(dest):
    """The repository's tracked files (as a fresh clone has them, times kept) with this environment's
    .venv linked in: a folder `make` can run in without touching the repository."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = REPO / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(REPO / ".venv")
    return dest


@pytest.fixture(scope="module")
def made_course(tmp_path_factory):
    """`make course` (the README's first command) in a clone: its output and the clone. The clone's
    own coursetools first on the path (PYTHONPATH), so everything it generates lands in the clone."""
    clone = _clone(tmp_path_factory.mktemp("clone"))
    env = {k: v for k, v in untraced_env().items() if k != grading.DB_URL_VARIABLE}
    env["PYTHONPATH"] = str(clone)
    # -o: the linked environment is taken as built (make would otherwise reinstall the course into it)
    proc = subprocess.run(["make", "-o", ".venv/.installed", "course"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return clone, proc.stdout


def test_make_course_regenerates_exactly_the_committed_release(made_course):
    clone, _ = made_course
    fresh, committed = clone / "release", REPO / "release"
    assert _tree(fresh) == _tree(committed)
    for rel in _tree(committed):
        assert filecmp.cmp(fresh / rel, committed / rel, shallow=False), f"release/{rel} is out of date: run make release"


def test_make_course_regenerates_exactly_the_committed_worked_notebook(made_course):
    clone, _ = made_course
    assert _comparable(nbs.read(clone / "notebooks" / NOTEBOOK)) == _comparable(nbs.read(WORKED_NB)), \
        "notebooks/ is out of date: run make notebooks"
    assert _tree(clone / "notebooks") == _tree(REPO / "notebooks")
    for csv in (clone / "notebooks" / "data").iterdir():
        assert filecmp.cmp(csv, REPO / "notebooks" / "data" / csv.name, shallow=False)


def test_make_course_grades_the_demo_submissions(made_course):
    """The grade table it prints: the reference full, the untouched release 0, each flawed demo
    losing points in its own exercise only; the graded notebooks whole, as students hand them in."""
    from sample_submissions import DEMO

    clone, out = made_course
    table = out[out.index("submission "):]
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:] if line.strip()}
    assert f"{AUTO_MAX:g}/{AUTO_MAX:g}" in rows["reference"] and "0/95" in rows["untouched_release"], table
    results = grading.read_results(clone / "build" / "sample_course", [s.student for s in DEMO])
    for sample in DEMO:
        assert harness.problems(sample, results[sample.student]) == [], sample.student
    graded = nbs.read(clone / "build" / "sample_course" / "autograded" / "ex1_sample_std" / ASSIGNMENT / NOTEBOOK)
    assert harness.TEACHING_STUB not in json.dumps(graded)


def test_data_files_are_what_the_export_makes(tmp_path):
    for path in write_wine_csvs(tmp_path):
        assert filecmp.cmp(path, SOURCE_NB.parent / "data" / path.name, shallow=False), f"{path.name} is out of date"


def test_validate_invert_passes_on_the_release():
    """The untouched release fails its own tests (nbgrader validate exits 0 either way: read its output),
    on a machine where no sandbox can start (a student's laptop): Validate is never sandboxed."""
    proc = nbgrader(["validate", "--invert", str(RELEASE_NB), "--SandboxedKernelManager.bwrap=/nonexistent/bwrap"], REPO)
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
