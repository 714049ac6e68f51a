"""coursetools.roster (what classgrade and distributed share): finding the notebook, refusing unreadable ones, the CSV and the summary."""

import csv

import nbformat
import pytest

from coursetools import NOTEBOOK, grading
from coursetools import roster as cg  # grade-class's roster


def write_nb(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb.notebook(nb.code("x = 1")), str(path))
    return path


def test_find_notebook_exact_name(tmp_path, nb):
    write_nb(tmp_path / NOTEBOOK, nb)
    write_nb(tmp_path / "other.ipynb", nb)
    assert cg.find_notebook(tmp_path) == (tmp_path / NOTEBOOK, "")


def test_find_notebook_a_lone_renamed_one_with_a_note(tmp_path, nb):
    write_nb(tmp_path / "Untitled1.ipynb", nb)
    write_nb(tmp_path / ".ipynb_checkpoints" / "Untitled1-checkpoint.ipynb", nb)
    path, note = cg.find_notebook(tmp_path)
    assert path == tmp_path / "Untitled1.ipynb"
    assert note == "notebook found as Untitled1.ipynb"


def test_find_notebook_none(tmp_path):
    (tmp_path / "notes.txt").write_text("lost it")
    path, reason = cg.find_notebook(tmp_path)
    assert path is None and reason.startswith("no notebook in the submission")


def test_find_notebook_several_and_none_named_right(tmp_path, nb):
    write_nb(tmp_path / "a.ipynb", nb)
    write_nb(tmp_path / "b.ipynb", nb)
    path, reason = cg.find_notebook(tmp_path)
    assert path is None
    assert reason.startswith("2 notebooks and none named") and "a.ipynb, b.ipynb" in reason


def test_find_notebook_a_lone_one_in_a_subfolder_is_not_taken(tmp_path, nb):
    write_nb(tmp_path / "sub" / "work.ipynb", nb)
    path, reason = cg.find_notebook(tmp_path)
    assert path is None and "work.ipynb" in reason


def test_check_submissions(tmp_path, nb):
    sub = tmp_path / "submitted"
    write_nb(sub / "alice" / "week13" / NOTEBOOK, nb)
    (sub / "bob" / "week13").mkdir(parents=True)
    (sub / "bob" / "week13" / NOTEBOOK).write_text("{ not json")
    (sub / "carol" / "week13").mkdir(parents=True)
    (sub / "dave" / "week12").mkdir(parents=True)  # another assignment only: not listed
    statuses = cg.check_submissions(tmp_path)
    assert sorted(statuses) == ["alice", "bob", "carol"]
    assert statuses["alice"].graded and statuses["alice"].reason == ""
    assert not statuses["bob"].graded and statuses["bob"].reason.startswith("the notebook cannot be read (")
    assert not statuses["carol"].graded and statuses["carol"].reason.startswith("no notebook")


def test_check_submissions_never_follows_a_linked_folder(tmp_path, nb):
    """A student folder (or its assignment folder) that is a link holds another folder's files."""
    write_nb(tmp_path / "elsewhere" / "week13" / NOTEBOOK, nb)
    sub = tmp_path / "submitted"
    sub.mkdir()
    (sub / "erin").symlink_to(tmp_path / "elsewhere")
    (sub / "frank").mkdir()
    (sub / "frank" / "week13").symlink_to(tmp_path / "elsewhere" / "week13")
    statuses = cg.check_submissions(tmp_path)
    assert statuses["erin"].reason == "the submission folder erin/ is a symbolic link"
    assert statuses["frank"].reason == "the submission folder frank/week13/ is a symbolic link"
    assert not statuses["erin"].graded and not statuses["frank"].graded
    from coursetools import submission

    assert submission.problem(sub / "erin" / "week13", NOTEBOOK) == "the student folder erin/ is a symbolic link"


def test_status_label():
    assert cg.Status("a").label == "not graded"
    assert cg.Status("a", graded=True).label == "graded"
    assert cg.Status("a", graded=True, feedback_failed=True).label == "graded, no feedback"
    assert cg.Status("a", graded=False, feedback_failed=True).label == "not graded"


def full_result(student, **lost):
    parts = {p: (10.0, 10.0) for p in grading.PARTS}
    for part, score in lost.items():
        parts[part] = (score, 10.0)
    failures = {f"{p}_test": "AssertionError: wrong" for p in lost}
    return grading.Result(student, parts, failures)


@pytest.fixture
def class_of_three():
    statuses = {
        "alice": cg.Status("alice", graded=True, notes=["sol1: moved"], mode="sandboxed"),
        "bob": cg.Status("bob", reason="the notebook cannot be read (JSONDecodeError)"),
        "carol": cg.Status("carol", graded=True, mode="sandboxed"),
    }
    results = {"alice": full_result("alice"), "carol": full_result("carol", ex2=2.5)}
    return statuses, results


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_write_csv_not_graded_rows_have_empty_scores_never_zero(tmp_path, class_of_three):
    statuses, results = class_of_three
    rows = {r["student"]: r for r in read_csv(cg.write_csv(tmp_path / "g.csv", statuses, results))}
    bob = rows["bob"]
    assert bob["status"] == "not graded"
    assert all(bob[p] == "" for p in grading.PARTS) and bob["autograded"] == "" and bob["autograded_max"] == ""
    assert bob["reason"] == "the notebook cannot be read (JSONDecodeError)"


def test_write_csv_graded_rows(tmp_path, class_of_three):
    statuses, results = class_of_three
    rows = {r["student"]: r for r in read_csv(cg.write_csv(tmp_path / "g.csv", statuses, results))}
    assert list(rows) == ["alice", "bob", "carol"]
    assert rows["alice"]["autograded"] == "100" and rows["alice"]["autograded_max"] == "100"
    assert rows["alice"]["notes"] == "sol1: moved" and rows["alice"]["reason"] == ""
    assert rows["carol"]["ex2"] == "2.5" and rows["carol"]["autograded"] == "92.5"
    assert rows["carol"]["reason"] == "ex2_test: AssertionError: wrong"
    assert rows["carol"]["mode"] == "sandboxed" and rows["carol"]["worker"] == ""


def test_write_csv_worker_column(tmp_path, class_of_three):
    statuses, results = class_of_three
    statuses["alice"].worker = "tcp://10.0.0.2:40000"
    rows = {r["student"]: r for r in read_csv(cg.write_csv(tmp_path / "g.csv", statuses, results))}
    assert rows["alice"]["worker"] == "tcp://10.0.0.2:40000"


def test_summary_without_workers_has_no_worker_column(class_of_three):
    statuses, results = class_of_three
    text = cg.summary(statuses, results)
    head, rule, *rows = text.splitlines()
    assert "worker" not in head and set(rule) == {"-"}
    assert len(rows) == 3
    bob = next(r for r in rows if r.startswith("bob"))
    assert "not graded" in bob and "JSONDecodeError" in bob
    carol = next(r for r in rows if r.startswith("carol"))
    assert "92.5/100" in carol and "ex2_test: AssertionError: wrong" in carol
    alice = next(r for r in rows if r.startswith("alice"))
    assert "sol1: moved" in alice


def test_summary_with_a_worker_has_a_worker_column(class_of_three):
    statuses, results = class_of_three
    statuses["carol"].worker = "tcp://w1:1"
    head, _rule, *rows = cg.summary(statuses, results).splitlines()
    assert "worker" in head
    assert "tcp://w1:1" in next(r for r in rows if r.startswith("carol"))
