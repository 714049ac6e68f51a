"""coursetools/exchange.py, coursetools/late.py and the feedback's name: nbgrader's exchange files
carried as checked data, the late penalty from the score as it is now, on tiny folders and gradebooks."""

import csv
import os
from datetime import datetime, timedelta

import pytest
from tiny_gradebook import tiny_gradebook
from nbgrader.api import Gradebook
from traitlets.config import Config

from coursetools import exchange, grading, late, roster, submission
from coursetools.hook import after_feedback

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

STAMP = "2026-12-04 04:08:52.792871 UTC"
SECRET = "ab12" * 32
NB = "pytorch_fundamentals.ipynb"


def _submission(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_the_files_nbgrader_submit_writes_are_carried(tmp_path):
    src = _submission(tmp_path / "submitted", **{"timestamp.txt": STAMP, "submission_secret.txt": SECRET})
    dest = _submission(tmp_path / "feedback")
    assert exchange.carry(src, dest) == ["submission_secret.txt", "timestamp.txt"]
    assert (dest / "timestamp.txt").read_text() == STAMP and (dest / "submission_secret.txt").read_text() == SECRET


@pytest.mark.parametrize("name, text", [("timestamp.txt", "not a time"), ("timestamp.txt", ""),
                                        ("submission_secret.txt", "secret\nwith lines"),
                                        ("submission_secret.txt", "x" * 5000), ("timestamp.txt", STAMP + "\n" * 5000)])
def test_what_nbgrader_would_not_have_written_is_left_behind(tmp_path, name, text):
    src = _submission(tmp_path / "submitted", **{name: text})
    dest = _submission(tmp_path / "feedback")
    assert exchange.carry(src, dest) == [] and not (dest / name).exists()
    assert not exchange.is_own(src, name)


def test_a_link_is_never_followed_and_a_stale_copy_goes(tmp_path):
    """A timestamp.txt that links to an instructor's file would be released in feedback/."""
    secret = tmp_path / "instructor_only.txt"
    secret.write_text(STAMP)  # even a valid timestamp behind a link
    src = _submission(tmp_path / "submitted")
    os.symlink(secret, src / "timestamp.txt")
    dest = _submission(tmp_path / "feedback", **{"timestamp.txt": STAMP})
    assert exchange.carry(src, dest) == []
    assert not (dest / "timestamp.txt").exists(), "what the submission no longer has is not kept"
    os.mkfifo(src / "submission_secret.txt")  # a pipe would block a reader
    assert exchange.read(src) == {}


def test_the_exchange_files_are_not_listed_as_extras_but_anything_else_is(tmp_path):
    src = _submission(tmp_path / "s", **{NB: "{}", "timestamp.txt": STAMP, "submission_secret.txt": "not hex!",
                                         "notes.txt": "hi"})
    assert submission.extras(src, NB) == ["notes.txt", "submission_secret.txt"]


def test_a_renamed_notebook_s_feedback_takes_the_name_the_student_submitted(tmp_path):
    root = tmp_path
    src = _submission(root / "submitted" / "alice" / "week13", **{"timestamp.txt": STAMP, "submission_secret.txt": SECRET})
    data = b'{"cells": []}'
    (src / "Untitled (1).ipynb").write_bytes(data)
    (src / NB).write_bytes(data)
    (src / (NB + submission.MARKER_SUFFIX)).write_text(submission.marker_text("Untitled (1).ipynb", data))
    feedback = _submission(root / "feedback" / "alice" / "week13", **{"pytorch_fundamentals.html": "<p>page</p>"})
    after_feedback(assignment="week13", student="*", notebooks=[str(root / "autograded" / "alice" / "week13" / NB)],
                   root=root, notebook_name=NB)
    assert sorted(p.name for p in feedback.iterdir()) == ["Untitled (1).html", "submission_secret.txt", "timestamp.txt"]
    assert roster.feedback_file(root, "alice") == feedback / "Untitled (1).html"
    (src / (NB + submission.MARKER_SUFFIX)).unlink()  # graded under its own name
    assert submission.feedback_name(src, NB) == "pytorch_fundamentals.html"


@pytest.fixture
def gradebook(tmp_path):
    """week13 due at noon; alice on time, bob an hour late: each 8 autograded points, no hand grade yet."""
    due = datetime(2026, 12, 1, 12, 0)
    return tiny_gradebook(tmp_path, due, 10, {"alice": (due - timedelta(minutes=5), 8), "bob": (due + timedelta(hours=1), 8)})


def _zero():
    config = Config()
    config.LateSubmissionPlugin.penalty_method = "zero"
    return config


def test_the_penalty_follows_the_hand_grades(gradebook):
    with Gradebook(gradebook) as gb:
        at_autograde = late.refresh(gb, _zero(), "week13")
        gb.find_grade("ex3_answer", "nb", "week13", "bob").manual_score = 5
        gb.find_grade("ex3_answer", "nb", "week13", "alice").manual_score = 4
        gb.db.commit()
        after = late.refresh(gb, _zero(), "week13")
        stored = gb.find_submission_notebook("nb", "week13", "bob").late_submission_penalty
    assert at_autograde["bob"] == late.Late(3600.0, 8.0, 8.0) and at_autograde["alice"] == late.Late(0, 8.0, 0.0)
    assert after["bob"] == late.Late(3600.0, 13.0, 13.0) and after["bob"].final == 0, "not 13 - 8 = 5"
    assert after["alice"].final == 12 and stored == 13


def test_without_a_policy_late_work_keeps_its_score(gradebook):
    with Gradebook(gradebook) as gb:
        assert late.refresh(gb, Config(), "week13")["bob"] == late.Late(3600.0, 8.0, 0.0)
        assert late.refresh(gb, Config(), "week99") == {}


def test_the_export_writes_the_recomputed_penalty(gradebook, tmp_path):
    with Gradebook(gradebook) as gb:
        late.refresh(gb, _zero(), "week13")  # as autograde left it: 8
        gb.find_grade("ex3_answer", "nb", "week13", "bob").manual_score = 5
        gb.db.commit()
        plugin = late.CsvExportPlugin(config=_zero())
        plugin.to = str(tmp_path / "grades.csv")
        plugin.export(gb)
    rows = {line.split(",")[3]: line.split(",") for line in (tmp_path / "grades.csv").read_text().splitlines()[1:]}
    assert rows["bob"][7:10] == ["13.0", "13.0", "0.0"]  # raw_score, late_submission_penalty, score


def _result(student, auto, lateness):
    parts = {p: (0.0, 0.0) for p in grading.PARTS}
    parts["ex1"] = (auto, 10.0)
    return grading.Result(student, parts, {}, lateness)


def test_the_summary_and_csv_show_what_the_gradebook_says(tmp_path):
    statuses = {s: roster.Status(s, graded=True) for s in ("alice", "bob")}
    results = {"alice": _result("alice", 8, late.Late(0, 12, 0)), "bob": _result("bob", 8, late.Late(3600, 13, 13))}
    header, _, alice, bob = roster.summary(statuses, results).splitlines()
    assert header.split()[-5:] == ["auto", "late", "penalty", "final", "reason"]
    assert alice.split()[-5:] == ["8/10", "on", "time", "0", "12"]
    assert bob.split()[-5:] == ["8/10", "1.0", "h", "13", "0"]
    roster.write_csv(tmp_path / "g.csv", statuses, results)
    with open(tmp_path / "g.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert [rows["bob"][k] for k in roster.LATE_COLUMNS] == ["13", "3600", "13", "0"]
    assert [rows["alice"][k] for k in roster.LATE_COLUMNS] == ["12", "0", "0", "12"]
    assert "penalty" not in roster.summary({"alice": statuses["alice"]}, {"alice": results["alice"]}).splitlines()[0]
