"""`week13 similarity` (coursetools/similarity.py, copydetect) on crafted submissions: a copy with
renamed variables, a comment and other indentation is found in every part; answers written
independently (public code adapted by different students) are not, where they differ; the release
as handed out is not compared; nothing is graded (no kernel, about 20 s)."""

import copy
import re
import shutil
import subprocess
import sys

import pytest

from coursetools import ASSIGNMENT, NOTEBOOK, RELEASE_NB, SOURCE_NB, similarity
from coursetools import notebooks as nbs
from sample_submissions.catalogue import packed

RENAMED = {"model": "net", "loader": "dl", "optimizer": "opt", "criterion": "loss_fn", "histories": "runs",
           "total_loss": "running", "correct": "hits"}


def _copied(nb):
    """`nb` as a student who copied it would hand it in: names changed, a comment, tabs."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and (nbs.grade_id(cell) or "").endswith("_solution"):
            for old, new in RENAMED.items():
                cell.source = re.sub(rf"\b{old}\b", new, cell.source)
            cell.source = "# my own answer\n" + cell.source.replace("    ", "\t")
    return nb


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    (root / "release" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(RELEASE_NB, root / "release" / ASSIGNMENT / NOTEBOOK)
    release, source = nbs.read(RELEASE_NB), nbs.read(SOURCE_NB)
    answers = nbs.fill_solutions(release, source)
    other = next(p for p in packed() if p.student == "packed_correct_public_cell4_quickstart").notebook(release, source)
    notebooks = {"ann": answers, "ben": _copied(answers), "cat": other, "dee": release}
    for student, nb in notebooks.items():
        (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbs.write(nb, root / "submitted" / student / ASSIGNMENT / NOTEBOOK)
    proc = subprocess.run([sys.executable, "-m", "coursetools", "similarity", "--root", str(root)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parts = {s: similarity.answers_by_part(nb, release) for s, nb in notebooks.items()}
    pairs = [similarity.Pair(m["part"], m["a"], m["b"], float(m["x"]) / 100, float(m["y"]) / 100, int(m["t"]))
             for m in re.finditer(r"^  (?P<part>\w+): (?P<a>\w+) ~ (?P<b>\w+): (?P<x>\d+)% of \w+'s code, (?P<y>\d+)% "
                                  r"of \w+'s \((?P<t>\d+) tokens\)$", proc.stdout, re.M)]
    assert len(pairs) == int(proc.stdout.split(" pair(s)")[0]), proc.stdout
    return {"root": root, "stdout": proc.stdout, "parts": parts, "pairs": pairs}


def test_a_renamed_copy_is_found_in_every_part(compared):
    flagged = {(p.part, frozenset((p.first, p.second))) for p in compared["pairs"]}
    for part in compared["parts"]["ann"]:
        assert (part, frozenset({"ann", "ben"})) in flagged, part
    assert re.search(r"ex2: (ann ~ ben|ben ~ ann): 100% of", compared["stdout"]), compared["stdout"]


def test_independent_answers_are_not_flagged_where_they_differ(compared):
    ann, cat = compared["parts"]["ann"], compared["parts"]["cat"]
    differ = {part for part in cat if cat[part] != ann.get(part)}
    same = {part for part in cat if cat[part] == ann.get(part)}
    assert {"cell4", "ex2", "ex4"} <= differ and same  # the packed sample keeps the reference's Cells 2 and 3
    for p in compared["pairs"]:
        if "cat" in (p.first, p.second):
            assert p.part in same, p  # identical code is flagged; independent code is not


def test_the_release_as_handed_out_is_not_compared_and_each_part_has_its_report(compared):
    assert "not compared: dee: no answer code" in compared["stdout"]
    assert all("dee" not in (p.first, p.second) for p in compared["pairs"])
    report = (compared["root"] / "build" / "similarity" / "report-ex2.html").read_text()
    assert "ann" in report and "ben" in report
