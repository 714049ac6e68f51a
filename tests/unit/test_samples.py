"""The sample harness's shortcuts, proven without a kernel: a crafted sample that runs without the
teaching cells reads nothing they define, and samples that share one graded notebook cannot reach
each other's parts (sample_submissions/names.py, harness.blank_teaching, harness.pack)."""

import dataclasses
import functools

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from coursetools import RELEASE_NB, SOURCE_NB
from coursetools import notebooks as nbs
from sample_submissions import ALL, boundary, harness, hostile, names, robustness
from sample_submissions.catalogue import REFERENCE, packed


@functools.cache
def _notebooks():
    return nbs.read(RELEASE_NB), nbs.read(SOURCE_NB)


EVERY_SAMPLE = {s.student: s for s in [*ALL, *robustness.SAMPLES, *boundary.SAMPLES, *hostile.SAMPLES, *packed()]
                if s.raw is None and s.filename is not None}


def _graded(sample):
    release, source = _notebooks()
    return harness.graded_view(sample.notebook(release, source), source)


def _cell(source, cell_id):
    cell = new_code_cell(source)
    cell.id = cell_id
    return cell


def test_reads_follows_functions_classes_and_the_latest_definition():
    nb = new_notebook(cells=[
        _cell("import torch\nx = 1", "a"),
        _cell("x = 2\ndef f():\n    return x + y\nclass C:\n    z = torch.ones(1)", "b"),
        _cell("print(f(), C, [i for i in range(3)])\n%time f()\n!ls", "c"),
    ])
    graph = names.reads(nb)
    assert graph["b"] == {"y": None, "torch": "a"}  # x is its own; y is read by f and defined nowhere
    assert graph["c"] == {"f": "b", "C": "b"}  # comprehension variables, builtins and magics read nothing
    assert names.reached_from(nb, {"a"}) == {"a", "b", "c"}
    assert names.reached_from(nb, {"c"}) == {"c"}


@pytest.mark.parametrize("student", sorted(s for s, x in EVERY_SAMPLE.items() if x.teaching is not True))
def test_no_cell_that_runs_reads_a_blanked_teaching_cell(student):
    """The tripwire of blank_teaching: every cell that still runs reads each name from the same
    cell as in the whole notebook (nothing graded or answered depends on a teaching cell)."""
    sample = EVERY_SAMPLE[student]
    blanked = _graded(sample)
    whole = _graded(dataclasses.replace(sample, teaching=True))
    stubs = {c.id for c in blanked.cells if c.source == harness.TEACHING_STUB}
    assert stubs, "no teaching cell was blanked"
    full_reads, reads = names.reads(whole), names.reads(blanked)
    changed = {cid: (reads[cid], full_reads[cid]) for cid in reads if cid not in stubs and reads[cid] != full_reads[cid]}
    assert changed == {}


def test_the_tripwire_sees_an_answer_that_reads_a_teaching_cell():
    release, source = _notebooks()
    answer = nbs.cells_by_grade_id(nbs.fill_solutions(release, source))["cell2_solution"].source
    uses_demo = harness.Sample("uses_demo", "reads x from Cell 1's first demo",
                               {"cell2_solution": answer + "\n_seen = x.shape\n"})
    whole = names.reads(harness.graded_view(dataclasses.replace(uses_demo, teaching=True).notebook(release, source), source))
    blanked = names.reads(harness.graded_view(uses_demo.notebook(release, source), source))
    cell = next(c.id for c in release.cells if nbs.grade_id(c) == "cell2_solution")
    assert whole[cell]["x"] == "cell1-demo-tensors" and blanked[cell]["x"] is None


def test_the_reference_reads_nothing_undefined():
    unresolved = {(cid, n) for cid, r in names.reads(_graded(REFERENCE)).items() for n, d in r.items() if d is None}
    assert unresolved == set()


def test_every_sample_is_graded_once_and_packed_samples_reach_disjoint_parts():
    release, source = _notebooks()
    members = [m.student for p in packed() for m in (p.components or (p,))]
    assert sorted(members) == sorted(s.student for s in ALL)
    assert len(packed()) < len(ALL) / 2
    for p in packed():
        if not p.components:
            continue
        reached = [harness.reach(m, release, source) for m in p.components]
        assert sum(map(len, reached)) == len(set().union(*reached)), (p.student, reached)
        whole = nbs.cells_by_grade_id(p.notebook(release, source))
        for m in p.components:  # each member's answers exactly as it would be graded alone
            alone = nbs.cells_by_grade_id(m.notebook(release, source))
            assert {g: whole[g].source for g in m.edits} == {g: alone[g].source for g in m.edits}


def test_a_mistake_in_cell4_does_not_reach_exercise_2_whose_grader_replaces_train_epoch():
    """Exercise 2's compare_schedulers calls Cell 4's train_epoch and evaluate, but the grader runs it
    with the reference ones in their place (week13_checks.ex2.REPLACED_WHILE_COMPARING), hidden
    checks and visible twin alike: a Cell 4 mistake may share a notebook with an Exercise 2 one."""
    release, source = _notebooks()
    cell4 = next(s for s in ALL if s.parts == {"cell4"} and s.loses)
    ex2 = next(s for s in ALL if s.parts == {"ex2"} and s.loses)
    assert "ex2" not in harness.reach(cell4, release, source) and "cell4" not in harness.reach(ex2, release, source)
    assert len(harness.pack([cell4, ex2], release, source)) == 1


@pytest.mark.parametrize("binding", [
    "def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0, step=train_epoch):",
    "_step = train_epoch\ndef compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):",
])
def test_an_exercise_2_that_binds_train_epoch_when_its_cell_runs_still_reaches_cell4(binding):
    """The replacement reaches only what compare_schedulers looks up when it runs: a train_epoch bound
    as a default argument or an alias when the cell runs is the notebook's, so Cell 4 is reached."""
    release, source = _notebooks()
    answer = nbs.cells_by_grade_id(nbs.fill_solutions(release, source))["ex2_solution"].source
    header = "def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):"
    assert header in answer
    binds = harness.Sample("binds", "train_epoch bound when the cell runs", {"ex2_solution": answer.replace(header, binding)})
    assert "cell4" in harness.reach(binds, release, source)


def test_an_answer_that_calls_cell4_never_shares_with_another_cell4():
    """The other direction: an Exercise 4 fit that calls Cell 4's train_epoch reads Cell 4's answer,
    so it must never be graded beside another Cell 4 (found when a Cell 4 returning numpy floats
    cost the Exercise 4 sample beside it 6 points)."""
    release, source = _notebooks()
    reuses = next(s for s in ALL if s.student == "ex4_loop_reuses_cell4")
    cell4 = next(s for s in ALL if s.parts == {"cell4"} and not s.loses)
    assert "cell4" in harness.reach(reuses, release, source)
    assert len(harness.pack([cell4, reuses], release, source)) == 2  # two notebooks
    pack = next(p for p in packed() if reuses in (p.components or (p,)))
    assert all("cell4" not in m.parts for m in (pack.components or (pack,)))


def test_problems_judges_each_member_on_its_own_parts():
    from coursetools.grading import PARTS, Result

    a = harness.Sample("a", "", {"ex1_solution": "x"}, loses=("ex1",), fails=("ex1_tests_wine",))
    b = harness.Sample("b", "", {"ex4_solution": "y"})
    both = harness._packed([a, b], correct=False)
    full = {p: (5.0, 5.0) for p in PARTS}
    assert harness.problems(both, Result("p", {**full, "ex1": (1.0, 5.0)}, {"ex1_tests_wine": "boom"})) == []
    assert harness.problems(both, Result("p", {**full, "ex1": (1.0, 5.0), "ex4": (4.0, 5.0)},
                                         {"ex1_tests_wine": "boom"})) == ["b: ex4: expected full marks, got 4/5"]
    assert harness.problems(both, Result("p", {**full, "ex1": (1.0, 5.0), "cell2": (0.0, 5.0)},
                                         {"ex1_tests_wine": "boom"})) == ["cell2: expected full marks, got 0/5"]


@pytest.mark.parametrize("part", ["ex1", "ex2", "ex4"])
def test_each_hidden_tested_exercise_has_at_least_eight_correct_answers(part):
    """The README's promise: every exercise with hidden tests is proven on 8 or more correct answers
    written in different everyday idioms (each graded in full marks by the grader suite)."""
    correct = [s.student for s in ALL if s.parts == {part} and not s.loses]
    assert len(correct) >= 8, correct
