"""coursetools.rebuild: a submission on the release's skeleton, and the notes that say what was repaired."""

import copy

import nbformat
import pytest

from coursetools import rebuild as rb


def gids(nb):
    return [rb.grade_id(c) for c in nb.cells]


def cell(nb, gid):
    matches = [c for c in nb.cells if rb.grade_id(c) == gid]
    assert len(matches) == 1, f"{gid}: {len(matches)} cells"
    return matches[0]


def drop(student, gid):
    student.cells = [c for c in student.cells if rb.grade_id(c) != gid]
    return student


def index(nb, gid):
    return gids(nb).index(gid)


def test_an_untouched_answered_submission_comes_back_as_is_without_notes(release, answered):
    out, notes = rb.rebuild(release, answered)
    assert notes == []
    assert gids(out) == gids(release)
    assert [c.source for c in out.cells] == [c.source for c in answered.cells]
    nbformat.validate(out)


def test_a_deleted_test_cell_comes_back_from_the_release(release, answered):
    out, notes = rb.rebuild(release, drop(answered, "test1"))
    assert cell(out, "test1").source == "assert f() == 1"
    assert cell(out, "test1").metadata == release.cells[2].metadata
    assert gids(out) == gids(release)


def test_a_duplicated_test_cell_is_there_once(release, answered):
    answered.cells.insert(3, copy.deepcopy(answered.cells[2]))
    answered.cells[3].id = "copy-of-test1"
    out, notes = rb.rebuild(release, answered)
    assert gids(out).count("test1") == 1
    assert len(out.cells) == len(release.cells)


def test_an_edited_test_cell_is_the_release_s(release, answered):
    answered.cells[2].source = "pass  # always passes"
    answered.cells[2].metadata["nbgrader"]["points"] = 100
    out, _notes = rb.rebuild(release, answered)
    assert cell(out, "test1").source == "assert f() == 1"
    assert cell(out, "test1").metadata["nbgrader"]["points"] == 1


@pytest.mark.parametrize("tag", ["skip-execution", "raises-exception"])
def test_a_retagged_test_cell_gets_the_release_s_metadata(release, answered, tag):
    answered.cells[2].metadata["tags"] = [tag]
    out, _notes = rb.rebuild(release, answered)
    assert "tags" not in cell(out, "test1").metadata
    assert cell(out, "test1").metadata == release.cells[2].metadata


def test_a_test_cell_turned_into_markdown_is_code_again(release, answered, nb):
    test1 = answered.cells[2]
    answered.cells[2] = nb.md(test1.source)
    answered.cells[2].metadata = copy.deepcopy(test1.metadata)
    out, _notes = rb.rebuild(release, answered)
    assert cell(out, "test1").cell_type == "code"
    assert cell(out, "test1").source == "assert f() == 1"


def test_the_student_s_solution_is_kept_and_outputs_cleared(release, answered):
    answered.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    answered.cells[1].execution_count = 3
    out, _notes = rb.rebuild(release, answered)
    assert cell(out, "sol1").source == "def f():\n    return 1"
    assert cell(out, "sol1").outputs == [] and cell(out, "sol1").execution_count is None
    assert cell(out, "ex_answer").source == "Because the gradients accumulate."


def test_extra_student_cells_are_kept_in_order_as_plain_cells(release, answered, nb):
    extra_code = nb.code("helper = 41", cell_id="my-helper", tags=["raises-exception"])
    extra_md = nb.md("my notes", cell_id="my-notes")
    answered.cells[2:2] = [extra_code, extra_md]  # after sol1, before test1
    out, notes = rb.rebuild(release, answered)
    assert notes == []
    at = index(out, "sol1")
    assert [c.source for c in out.cells[at + 1:at + 3]] == ["helper = 41", "my notes"]
    assert [c.cell_type for c in out.cells[at + 1:at + 3]] == ["code", "markdown"]
    assert all(c.metadata == {} for c in out.cells[at + 1:at + 3])
    assert [c.id for c in out.cells[at + 1:at + 3]] == ["my-helper", "my-notes"]


def test_extra_cells_with_clashing_or_invalid_ids_get_deterministic_ids(release, answered, nb):
    answered.cells.insert(2, nb.code("a = 1", cell_id="test2"))  # a release cell's id
    answered.cells.insert(3, nb.code("b = 2", cell_id="bad id!"))  # not a valid cell id
    first, _ = rb.rebuild(release, copy.deepcopy(answered))
    second, _ = rb.rebuild(release, copy.deepcopy(answered))
    at = index(first, "sol1")
    assert [c.id for c in first.cells[at + 1:at + 3]] == ["student-1", "student-2"]
    assert [c.id for c in first.cells] == [c.id for c in second.cells]
    assert len({c.id for c in first.cells}) == len(first.cells)


def test_an_unknown_grade_id_is_noted_and_kept_as_a_plain_cell(release, answered, nb):
    bogus = nb.test("bonus", "print('100 points')", points=100)
    answered.cells.insert(3, bogus)
    out, notes = rb.rebuild(release, answered)
    assert any("unknown grade id 'bonus'" in n for n in notes)
    kept = [c for c in out.cells if c.source == "print('100 points')"]
    assert len(kept) == 1 and kept[0].metadata == {}


def test_a_deleted_solution_cell_no_longer_overrides_the_answer(release, answered, nb):
    drop(answered, "sol1")
    answered.cells.insert(1, nb.code("def f():\n    return 1", cell_id="my-f"))
    out, notes = rb.rebuild(release, answered)
    assert cell(out, "sol1").source == rb.DELETED
    assert "sol1: the solution cell was deleted; your code in other cells is graded" in notes
    assert "def f():\n    return 1" in [c.source for c in out.cells]
    assert "NotImplementedError" not in "".join(c.source for c in out.cells if rb.grade_id(c) == "sol1")


def test_a_deleted_written_answer_is_the_empty_release_cell_with_a_note(release, answered):
    out, notes = rb.rebuild(release, drop(answered, "ex_answer"))
    assert cell(out, "ex_answer").source == "YOUR ANSWER HERE"
    assert "ex_answer: missing, the empty release cell was used" in notes


DEF_STUB = "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()"


def test_an_unchanged_stub_whose_name_is_defined_elsewhere_is_replaced_with_a_note(release, answered, nb):
    cell(release, "sol1").source = answered.cells[1].source = DEF_STUB
    answered.cells.insert(1, nb.code("def f():\n    return 1", cell_id="my-f"))  # the answer, above the stub
    out, notes = rb.rebuild(release, answered)
    assert cell(out, "sol1").source == rb.STUB_REPLACED
    assert "sol1: left as the release's stub; your code in other cells is graded" in notes


def test_an_unchanged_stub_is_kept_when_other_code_defines_other_names(release, answered, nb):
    cell(release, "sol1").source = answered.cells[1].source = DEF_STUB
    answered.cells.insert(2, nb.code("g = 2\nprint(g)", cell_id="scratch"))  # scratch work, not the answer
    out, notes = rb.rebuild(release, answered)
    assert cell(out, "sol1").source == DEF_STUB
    assert not any(n.startswith("sol1") for n in notes)


def test_an_unchanged_stub_without_other_code_is_kept(release, answered, nb):
    answered.cells[1].source = nb.STUB
    answered.cells.insert(2, nb.md("I did not get this one"))  # not code: no answer elsewhere
    out, notes = rb.rebuild(release, answered)
    assert cell(out, "sol1").source == nb.STUB
    assert not any(n.startswith("sol1") for n in notes)


def test_an_emptied_solution_is_noted(release, answered):
    answered.cells[1].source = "   \n"
    out, notes = rb.rebuild(release, answered)
    assert "sol1: the solution cell is empty" in notes
    assert cell(out, "sol1").source.strip() == ""


def test_a_moved_solution_is_noted_and_put_back_in_place(release, answered):
    sol2 = answered.cells.pop(4)
    answered.cells.insert(2, sol2)  # sol2 now before test1
    out, notes = rb.rebuild(release, answered)
    assert "sol2: moved; graded in its place in the release" in notes
    assert gids(out) == gids(release)
    assert cell(out, "sol2").source == "def g():\n    return 2"


def test_a_split_solution_is_noted_and_both_pieces_kept_in_order(release, answered):
    second = copy.deepcopy(answered.cells[1])
    answered.cells[1].source = "def f():\n    return helper()"
    second.source = "def helper():\n    return 1"
    second.id = "sol1-part2"
    answered.cells.insert(2, second)
    out, notes = rb.rebuild(release, answered)
    assert "sol1: more than one cell, kept in order" in notes
    at = index(out, "sol1")
    assert out.cells[at].source == "def f():\n    return helper()"
    assert out.cells[at + 1].source == "def helper():\n    return 1"
    assert out.cells[at + 1].metadata == {}
    assert gids(out).count("sol1") == 1


def test_the_notebook_metadata_is_the_release_s(release, answered):
    answered.metadata["widgets"] = {"junk": True}
    answered.metadata["kernelspec"]["name"] = "evil"
    out, _notes = rb.rebuild(release, answered)
    assert out.metadata == release.metadata


# --- suspicious ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, flag", [
    ("get_ipython().input_transformers_post.append(lambda lines: lines)", "IPython hooks"),
    ("get_ipython().events.register('pre_run_cell', f)", "IPython hooks"),
    ("import week13_checks\nweek13_checks._CHECKS.clear()", "the grader"),
    ("import grading_guard", "the grader"),
    ("import sys\nsys.modules['torch'] = None", "the interpreter"),
    ("import builtins\nbuiltins.isinstance = lambda *a: True", "the interpreter"),
    ("import os\nos._exit(0)", "the interpreter"),
    ("import ctypes", "the interpreter"),
    # From the parsed code: names spelt in pieces, aliases, frames, attributes named at run time.
    ("m = __import__('week' + '13_checks')", "the interpreter"),
    ("import importlib\nimportlib.import_module('grading' + '_guard')", "the interpreter"),
    ("import sys as s\ns.modules.clear()", "the interpreter"),
    ("from sys import modules as m", "the interpreter"),
    ("import sys\nf = sys._getframe(1)", "the interpreter"),
    ("def f(g):\n    return g.f_back.f_globals", "the interpreter"),
    ("x = getattr(torch, 'all' + 'close')", "the interpreter"),
    ("exec(''.join(['pa', 'ss']))", "the interpreter"),
    ("ip = get_ipython()\nget_ipython().set_custom_exc((), None)", "IPython hooks"),
    ("getattr(get_ipython(), 'events').register('pre_run_cell', print)", "IPython hooks"),
    ("name = 'week13_checks'", "the grader"),
])
def test_suspicious_flags_code_that_reaches_into_the_kernel_or_the_grader(release, answered, nb, code, flag):
    answered.cells.insert(2, nb.code(code, cell_id="mine"))
    out, _notes = rb.rebuild(release, answered)
    assert rb.suspicious(out, release) == [flag]


@pytest.mark.parametrize("code", [
    "%timeit sum(range(10))\n!ls\nx = getattr(model, 'fc1')\nimport numpy as np\nprint(np.mean([1, 2]))",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nmodules = [m for m in net.modules()]",
    "def f(self):\n    return self.std.to(self.mean.device)\n",
])
def test_suspicious_leaves_everyday_code_alone(release, answered, nb, code):
    answered.cells.insert(2, nb.code(code, cell_id="mine"))
    out, _notes = rb.rebuild(release, answered)
    assert rb.suspicious(out, release) == []


def test_suspicious_flags_a_solution_cell_too(release, answered):
    answered.cells[1].source = "import sys\nsys.settrace(None)\ndef f():\n    return 1"
    out, _notes = rb.rebuild(release, answered)
    assert rb.suspicious(out, release) == ["the interpreter"]


def test_suspicious_ignores_a_correct_answer_and_the_release_s_own_test_code(nb):
    release = nb.notebook(
        nb.solution("sol1"),
        nb.test("test1", "import sys\nassert 'week13_checks' in sys.modules\n"
                         "__import__('week13_checks').run('test1', globals())"),
    )
    student = copy.deepcopy(release)
    student.cells[0].source = "def f():\n    return 1"
    out, _notes = rb.rebuild(release, student)
    assert rb.suspicious(out, release) == []
