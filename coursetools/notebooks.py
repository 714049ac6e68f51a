"""Notebook transformations: the worked notebook, submissions, cleanliness.

All of them read the annotated source notebook (or the release generated
from it) and never a hand-kept copy.
"""

import copy
import os
import shutil
from pathlib import Path

import nbformat

from . import REPO, SOURCE_NB, WORKED_NB

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NOTEBOOK_METADATA_KEYS = {"kernelspec", "language_info"}
WORKED_BANNER = (
    "*Worked solution, generated from `source/week13/pytorch_fundamentals.ipynb` by "
    "`make notebooks` and executed on the CPU. Do not edit: edit the source and regenerate.*"
)


def read(path: Path | str) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: nbformat.NotebookNode, path: Path | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def cells_by_grade_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def strip_solution_markers(text: str) -> str:
    """The solution with its marker lines removed (the code a student would write)."""
    lines = [line for line in text.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
    return "\n".join(lines)


def strip_hidden_tests(text: str) -> str:
    """Remove every hidden-test region, markers included."""
    out, hidden = [], False
    for line in text.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def has_hidden_tests(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and BEGIN_HIDDEN in cell.source


def worked_notebook(source_nb: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The source with solutions in place, hidden-test cells and nbgrader metadata removed, unexecuted."""
    nb = copy.deepcopy(source_nb if source_nb is not None else read(SOURCE_NB))
    cells = []
    for cell in nb.cells:
        if has_hidden_tests(cell):
            continue
        cell.source = strip_solution_markers(strip_hidden_tests(cell.source))
        cell.metadata = {}
        cells.append(cell)
    banner = nbformat.v4.new_markdown_cell(WORKED_BANNER)
    banner.id = "generated-banner"
    nb.cells = [banner] + cells
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path | str, timeout: int | None = 300, env: dict[str, str] | None = None,
            record_timing: bool = False) -> nbformat.NotebookNode:
    """Execute `nb` in folder `cwd` on one CPU thread, with stable metadata.

    `record_timing` keeps nbclient's per-cell timestamps in `cell.metadata.execution`
    (the benchmark reads them; the committed worked notebook never has them)."""
    from nbclient import NotebookClient

    saved_metadata = copy.deepcopy(nb.metadata)
    # the kernel's environment: this process's plus `env` (nbclient hands it to start_kernel)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", record_timing=record_timing,
        resources={"metadata": {"path": str(cwd)}},
    ).execute(env={**os.environ, **(env or {})})
    nb.metadata = saved_metadata  # the kernel's language_info would name this machine's Python
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return nb


def coalesce_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Consecutive outputs on the same stream as one: how a print splits into messages depends on
    timing, and the committed worked notebook must not."""
    out = []
    for output in outputs:
        if (output.output_type == "stream" and out and out[-1].output_type == "stream"
                and out[-1].name == output.name):
            out[-1].text += output.text
        else:
            out.append(output)
    return out


def build_worked_notebook(dest: Path | str = WORKED_NB) -> Path:
    """Write the executed worked notebook (and the data it reads) to `dest`."""
    dest = Path(dest)
    data_src = SOURCE_NB.parent / "data"
    data_dest = dest.parent / "data"
    if data_dest.exists():
        shutil.rmtree(data_dest)
    shutil.copytree(data_src, data_dest)
    nb = execute(worked_notebook(), cwd=dest.parent, env={"OMP_NUM_THREADS": "1"})
    write(nb, dest)
    return dest


def fill_solutions(release_nb: nbformat.NotebookNode, source_nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A submission: the release notebook with every solution cell answered as in the source."""
    nb = copy.deepcopy(release_nb)
    answers = cells_by_grade_id(source_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = strip_solution_markers(answers[meta["grade_id"]].source)
    return nb


def apply_edits(nb: nbformat.NotebookNode,
                edits: dict[str, str | list[tuple[str, str] | tuple[str, str, int]]]) -> nbformat.NotebookNode:
    """Apply a sample submission's edits: {grade_id: [(old, new[, times]), ...] or full new source}.

    A replacement whose `old` text is not exactly once in the cell raises, so
    a sample cannot silently stop testing what it claims when the source
    changes (or break code it did not mean to touch).
    """
    nb = copy.deepcopy(nb)
    cells = cells_by_grade_id(nb)
    for gid, edit in edits.items():
        if gid not in cells:
            raise KeyError(f"no cell with grade id {gid!r}")
        cell = cells[gid]
        if isinstance(edit, str):
            cell.source = edit.strip("\n")
            continue
        for old, new, *times in edit:  # (old, new) replaces once; (old, new, n) exactly n times
            count, expected = cell.source.count(old), (times or [1])[0]
            if count != expected:
                raise ValueError(f"{gid}: text to replace found {count} times, not {expected}: {old!r}")
            cell.source = cell.source.replace(old, new)
    return nb


def clean_problems(path: Path | str, allow_outputs: bool) -> list[str]:
    """What is unclean about a notebook file: outputs where none belong, stray metadata, missing ids."""
    nb = read(path)
    problems = []
    extra = set(nb.metadata) - NOTEBOOK_METADATA_KEYS
    if extra:
        problems.append(f"notebook metadata beyond {sorted(NOTEBOOK_METADATA_KEYS)}: {sorted(extra)}")
    import json  # the ids as written: nbformat.read repairs missing and repeated ids of a 4.5 file

    ids = [c.get("id") for c in json.loads(Path(path).read_text()).get("cells", [])]
    if None in ids or len(set(ids)) != len(ids):
        problems.append("cell ids missing or repeated")
    allowed_cell_keys = {"nbgrader", "deletable", "editable"}
    for cell in nb.cells:
        extra = set(cell.metadata) - allowed_cell_keys
        if extra:
            problems.append(f"cell {cell.get('id')}: stray metadata {sorted(extra)}")
        if cell.cell_type == "code" and not allow_outputs and (cell.outputs or cell.execution_count):
            problems.append(f"cell {cell.get('id')}: has outputs or an execution count")
    return problems


__all__ = [
    "REPO", "read", "write", "worked_notebook", "execute", "build_worked_notebook",
    "fill_solutions", "apply_edits", "clean_problems", "strip_hidden_tests",
]
