"""A PostgreSQL gradebook shared by two grading machines (docs/dask.md, step 1).

A real PostgreSQL server (Debian's `postgresql` package; `.ci/run` installs
it) is started on localhost for this module. The assignment is generated
into its database once; then two course folders — two "machines", each with
its own copy of release/ and its own half of submitted/ — run the
instructor's command `week13 grade-class` at the same time,
both pointed at that database. The database must then hold every student's
submission once and every graded cell's grade once, with the scores the
samples expect, and regrading a student must not duplicate anything.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
import time

import postgres_server
import pytest
from limits import AUTO_MAX

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, grading
from coursetools.course import copy_course, make_course
from sample_submissions import harness
from coursetools import notebooks as nbs

from sample_submissions.catalogue import FLAWED_DEMO
from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE

# The reference and one mistake in each of Exercises 1, 2 and 4.
SAMPLES = [REFERENCE, *FLAWED_DEMO]
BY_STUDENT = {s.student: s for s in SAMPLES}
# Interleaved, so that each machine grades a correct and a flawed submission.
MACHINE_STUDENTS = {"machine_a": [s.student for s in SAMPLES[0::2]],
                    "machine_b": [s.student for s in SAMPLES[1::2]]}
PASSWORD = "week13-test"
GRADE_TIMEOUT = 600  # seconds: a hung grader fails the test instead of hanging CI


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 (tests/postgres_server.py); yields the database's URL."""
    with postgres_server.running(PASSWORD) as url:
        yield url


_query = postgres_server.query
_submissions = postgres_server.submissions
_grade_rows = postgres_server.grade_rows


def _copy_course(machine_a, machine_b):
    """The second machine: a clone of the course with the same release/, and no gradebook of its own."""
    copy_course(machine_b, source=machine_a, release=True)


def _grade_class_command(machine, *extra):
    """The instructor's command as installed by `make env` (the `week13` console script)."""
    return [str(Path(sys.executable).parent / "week13"), "grade-class", "--root", str(machine), "--workers", "1", *extra]


def _env(**changes):
    env = dict(os.environ)
    env.pop(grading.DB_URL_VARIABLE, None)
    env.update(changes)
    return env


@pytest.fixture(scope="module")
def two_machines(postgres, tmp_path_factory):
    """The assignment generated into PostgreSQL once, then graded on two machines at the same time.

    Machine A is pointed at the database by WEEK13_DB_URL (a bare postgresql:// URL, as an
    instructor writes it), machine B by `--db-url` with the driver spelled out.
    """
    base = tmp_path_factory.mktemp("postgres_class")
    machines = {name: base / name for name in MACHINE_STUDENTS}
    a, b = machines["machine_a"], machines["machine_b"]
    make_course(a, db_url=postgres)  # generate_assignment, into the shared database
    _copy_course(a, b)
    harness.submit(a, SAMPLES)
    (b / "submitted").mkdir()
    for student in MACHINE_STUDENTS["machine_b"]:
        shutil.move(a / "submitted" / student, b / "submitted" / student)

    start = time.perf_counter()
    commands = {
        "machine_a": (_grade_class_command(a), _env(**{grading.DB_URL_VARIABLE: postgres})),
        "machine_b": (_grade_class_command(b, "--db-url", postgres.replace("postgresql://",
                                                                          "postgresql+psycopg2://")), _env()),
    }
    procs = {name: subprocess.Popen(cmd, cwd=machines[name], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
             for name, (cmd, env) in commands.items()}
    logs = {}
    for name, proc in procs.items():
        try:
            logs[name] = proc.communicate(timeout=GRADE_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
            pytest.fail(f"{name}: grade-class ran longer than {GRADE_TIMEOUT} s")
    seconds = time.perf_counter() - start
    for name, proc in procs.items():
        assert proc.returncode == 0, f"{name}: grade-class exited {proc.returncode}:\n{logs[name][-4000:]}"
    print(f"two machines graded {len(SAMPLES)} submissions into PostgreSQL in {seconds:.1f} s")
    return machines, logs


def _results(url, machine, students):
    return grading.read_results(machine, students, db_url=url)


def _graded_cells():
    """Grade ids of every graded cell of the release notebook (autograded tests and the written answer)."""
    nb = nbs.read(REPO / "release" / ASSIGNMENT / NOTEBOOK)
    return {nbs.grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_each_machine_graded_its_own_half(two_machines):
    machines, logs = two_machines
    for name, machine in machines.items():
        assert not (machine / "gradebook.db").exists(), f"{name} wrote a SQLite gradebook instead of PostgreSQL"
        with open(machine / f"grades_{ASSIGNMENT}.csv") as f:
            rows = {row["student"]: row for row in csv.DictReader(f)}
        assert sorted(rows) == sorted(MACHINE_STUDENTS[name]), f"{name}'s CSV:\n{logs[name][-3000:]}"
        assert all(row["status"] == "graded" for row in rows.values()), rows
        for student in MACHINE_STUDENTS[name]:
            assert (machine / "feedback" / student / ASSIGNMENT).is_dir(), f"{name}: no feedback for {student}"


def test_every_student_has_exactly_one_submission(postgres, two_machines):
    subs = _submissions(postgres)
    assert sorted(subs) == sorted(BY_STUDENT), f"students in the gradebook: {sorted(subs)}"
    assert all(len(ids) == 1 for ids in subs.values()), f"submissions per student: {subs}"


def test_every_graded_cell_has_exactly_one_grade(postgres, two_machines):
    expected = _graded_cells()
    assert len(expected) == 33, f"the release's graded cells changed: {sorted(expected)}"
    (gradebook_cells,) = _query(postgres, "SELECT count(*) FROM grade_cells gc JOIN base_cell c ON c.id = gc.id "
                                          "JOIN notebook n ON n.id = c.notebook_id "
                                          "JOIN assignment a ON a.id = n.assignment_id WHERE a.name = %s",
                                ASSIGNMENT)
    assert gradebook_cells[0] == len(expected), "the assignment was generated more than once, or partly"
    grades = _grade_rows(postgres)
    for student in BY_STUDENT:
        cells = grades.get(student, {})
        missing = sorted(expected - set(cells))
        extra = sorted(set(cells) - expected)
        doubled = sorted(c for c, n in cells.items() if n != 1)
        assert not (missing or extra or doubled), f"{student}: missing {missing}, unknown {extra}, doubled {doubled}"
    (total,) = _query(postgres, "SELECT count(*) FROM grade")
    assert total[0] == len(BY_STUDENT) * len(expected), "grade rows that belong to no current submission"


def test_scores_are_what_the_samples_expect(postgres, two_machines):
    machines, _ = two_machines
    for name, machine in machines.items():
        results = _results(postgres, machine, MACHINE_STUDENTS[name])
        for student, result in results.items():
            assert harness.problems(BY_STUDENT[student], result) == [], (student, result.parts, result.failures)
        if REFERENCE.student in results:
            ref = results[REFERENCE.student]
            assert (ref.total, ref.maximum) == (AUTO_MAX, AUTO_MAX), ref.failures


def test_export_from_either_machine_lists_the_whole_class_once(postgres, two_machines):
    machines, _ = two_machines
    machine = machines["machine_b"]
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "class_grades.csv"], cwd=machine,
                          env=_env(**{grading.DB_URL_VARIABLE: postgres}), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(machine / "class_grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["student_id"] for r in rows) == sorted(BY_STUDENT)
    results = {}
    for name, m in machines.items():
        results.update(_results(postgres, m, MACHINE_STUDENTS[name]))
    for row in rows:  # the export's score also counts the written answer, not graded by hand yet (0)
        assert float(row["score"]) == results[row["student_id"]].total, row


def test_regrading_a_student_keeps_one_submission_and_the_same_score(postgres, two_machines):
    machines, _ = two_machines
    machine, student = machines["machine_a"], REFERENCE.student
    before_subs = _submissions(postgres)
    before = _results(postgres, machine, [student])[student]
    proc = subprocess.run(_grade_class_command(machine, "--student", student), cwd=machine,
                          env=_env(**{grading.DB_URL_VARIABLE: postgres}), capture_output=True, text=True,
                          timeout=GRADE_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after_subs = _submissions(postgres)
    assert sorted(after_subs) == sorted(before_subs) and all(len(v) == 1 for v in after_subs.values()), after_subs
    assert {s: v for s, v in after_subs.items() if s != student} == \
        {s: v for s, v in before_subs.items() if s != student}, "regrading one student touched another"
    after = _results(postgres, machine, [student])[student]
    assert after.parts == before.parts and after.total == AUTO_MAX, (before.parts, after.parts, after.failures)
    grades = _grade_rows(postgres)
    assert set(grades[student]) == _graded_cells() and set(grades[student].values()) == {1}, grades[student]
    (total,) = _query(postgres, "SELECT count(*) FROM grade")
    assert total[0] == len(BY_STUDENT) * len(_graded_cells()), "the regrade left stale grade rows behind"
