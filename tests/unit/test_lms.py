"""coursetools.lms: the names of Canvas's submissions archive, its roster, and its LATE marker."""

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from tiny_gradebook import tiny_gradebook
from nbgrader.api import Gradebook

from coursetools import lms

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's add_submission

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,week13 (4411)
    Points Possible,,,,,100.00
"Curie, Carol",5003,S-77,carol,DL 2026
"Doe, Dan",5004,S-78,dan,DL 2026
"""


@pytest.mark.parametrize("name, expected", [
    ("curiecarol_5003_880001_pytorch_fundamentals.ipynb", {"user": "5003", "late": False,
                                                          "file": "pytorch_fundamentals.ipynb"}),
    ("curiecarol_LATE_5003_880001_pytorch_fundamentals.ipynb", {"user": "5003", "late": True,
                                                               "file": "pytorch_fundamentals.ipynb"}),
    ("doedan_5004_880002_pytorch_fundamentals-2.ipynb", {"user": "5004", "late": False,
                                                        "file": "pytorch_fundamentals.ipynb"}),
    ("doedan_LATE_5004_880002_pytorch_fundamentals (1)-1.ipynb", {"user": "5004", "late": True,
                                                                 "file": "pytorch_fundamentals (1).ipynb"}),
    ("/x/extracted/canvas/obrienmary_12_34_my_notebook_v2.ipynb", {"user": "12", "late": False,
                                                                 "file": "my_notebook_v2.ipynb"}),
])
def test_canvas_names_give_the_user_the_marker_and_the_file_without_canvas_s_suffix(name, expected):
    assert lms.parse_canvas_name(name) == expected


@pytest.mark.parametrize("name", ["pytorch_fundamentals.ipynb", "carol_pytorch_fundamentals.ipynb",
                                  "curiecarol_LATE_x5003_880001_pytorch_fundamentals.ipynb"])
def test_other_names_are_not_canvas_s(name):
    assert lms.parse_canvas_name(name) is None


def test_the_roster_maps_canvas_ids_to_the_column_asked_for(tmp_path):
    (tmp_path / "grades.csv").write_text(ROSTER)
    assert lms.read_roster(tmp_path / "grades.csv") == {"5003": "carol", "5004": "dan"}
    assert lms.read_roster(tmp_path / "grades.csv", "SIS User ID") == {"5003": "S-77", "5004": "S-78"}
    with pytest.raises(ValueError, match="no column 'Login'"):
        lms.read_roster(tmp_path / "grades.csv", "Login")


def _collector(tmp_path, due=None, extension=None, roster=True):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.update_or_create_assignment("week13", duedate=due)
        if extension is not None:
            gb.update_or_create_student("carol")
            gb.add_submission("week13", "carol", extension=extension)
    if roster:
        (tmp_path / "canvas.csv").write_text(ROSTER)
    course = SimpleNamespace(root=str(tmp_path), db_url=url, assignment_id="week13")
    return lms.CanvasCollector(parent=None, roster=str(tmp_path / "canvas.csv") if roster else ""), course


def _collect(collector, course, name):
    collector._course = lambda: course
    return collector.collect(f"/downloaded/week13/extracted/{name}")


def test_an_on_time_file_has_no_timestamp_and_the_roster_s_id(tmp_path):
    collector, course = _collector(tmp_path, due=datetime(2026, 12, 1, 23, 59))
    assert _collect(collector, course, "curiecarol_5003_880001_pytorch_fundamentals-1.ipynb") == {
        "student_id": "carol", "file_id": "pytorch_fundamentals.ipynb"}


def test_a_late_file_is_one_second_past_the_due_date_that_applies(tmp_path):
    due = datetime(2026, 12, 1, 23, 59)
    collector, course = _collector(tmp_path, due=due)
    got = _collect(collector, course, "curiecarol_LATE_5003_880001_pytorch_fundamentals.ipynb")
    assert got == {"student_id": "carol", "file_id": "pytorch_fundamentals.ipynb", "timestamp": due + lms.LATE_BY}


def test_a_late_file_counts_from_the_student_s_extension(tmp_path):
    due, extension = datetime(2026, 12, 1, 23, 59), timedelta(days=2)
    collector, course = _collector(tmp_path, due=due, extension=extension)
    got = _collect(collector, course, "curiecarol_LATE_5003_880001_pytorch_fundamentals.ipynb")
    assert got["timestamp"] == due + extension + lms.LATE_BY


def test_without_a_due_date_the_marker_is_reported_not_invented(tmp_path, caplog):
    collector, course = _collector(tmp_path, due=None)
    with caplog.at_level(logging.WARNING):
        got = _collect(collector, course, "curiecarol_LATE_5003_880001_pytorch_fundamentals.ipynb")
    assert got == {"student_id": "carol", "file_id": "pytorch_fundamentals.ipynb"}
    assert "no due date" in caplog.text and "carol" in caplog.text


def test_without_a_roster_the_canvas_id_is_the_student_s_and_strangers_are_skipped(tmp_path, caplog):
    collector, course = _collector(tmp_path, roster=False)
    assert _collect(collector, course, "curiecarol_5003_880001_pytorch_fundamentals.ipynb")["student_id"] == "5003"
    (tmp_path / "with-roster").mkdir()
    collector, course = _collector(tmp_path / "with-roster", roster=True)
    with caplog.at_level(logging.WARNING):
        assert _collect(collector, course, "someone_9999_1_pytorch_fundamentals.ipynb") is None
        assert _collect(collector, course, "pytorch_fundamentals.ipynb") is None
        assert _collect(collector, course, "curiecarol_5003_880001_notes.txt") is None
    assert "9999 is not in the roster" in caplog.text and "Not a file of Canvas's download" in caplog.text


def canvas_import(path):
    """What Canvas's Grades > Import reads from `path`: the five identifying columns first, a
    "Points Possible" row it skips, students matched by their Canvas ID, and for each assignment
    column ("name (id)" updates that assignment) a number or a blank (no change)."""
    import csv
    import re

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:5] == list(lms.CANVAS_COLUMNS), header
    assignments = header[5:]
    assert all(re.fullmatch(r".+ \(\d+\)", a) for a in assignments), assignments
    grades = {}
    for row in rows[1:]:
        assert len(row) == len(header), row
        if row[0].strip() == "Points Possible":
            points = dict(zip(assignments, map(float, row[5:])))
            continue
        assert row[1].isdigit(), f"Canvas matches students by ID: {row}"
        grades[row[1]] = {a: (float(v) if v else None) for a, v in zip(assignments, row[5:])}
    return points, grades


def test_the_canvas_export_is_what_canvas_s_import_reads(tmp_path, caplog):
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    due = datetime(2026, 12, 1, 12, 0)
    url = tiny_gradebook(tmp_path, due, 95, {"carol": (due + timedelta(seconds=1), 95), "alice": (due, 90)},
                         hand={"carol": 3}, students=("dan",))  # dan: in Canvas's roster, no submission
    (tmp_path / "canvas.csv").write_text(ROSTER)
    config = Config()
    config.CanvasCollector.roster = str(tmp_path / "canvas.csv")
    config.LateSubmissionPlugin.penalty_method = "zero"
    plugin = lms.CanvasExport(config=config)
    plugin.to = str(tmp_path / "canvas_grades.csv")
    with Gradebook(url) as gb, caplog.at_level(logging.WARNING):
        plugin.export(gb)
    points, grades = canvas_import(tmp_path / "canvas_grades.csv")
    assert points == {"week13 (4411)": 100.0}
    assert grades == {"5003": {"week13 (4411)": 0.0}, "5004": {"week13 (4411)": None}}  # carol late: zero
    assert "not exported: alice" in caplog.text
    with pytest.raises(ValueError, match="CanvasCollector.roster"):
        with Gradebook(url) as gb:
            lms.CanvasExport(config=Config()).export(gb)


WORKSHEET = """Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments
Participant 1234501,Carol Curie,carol,Submitted for grading,,10.00,Yes,"Tuesday, 1 December 2026, 1:05 PM",-,
Participant 1234502,Dan Doe,dan,No submission,7.00,10.00,Yes,-,-,
"""


@pytest.mark.parametrize("name, expected", [
    ("/x/extracted/Carol Curie_1234501_assignsubmission_file_pytorch_fundamentals.ipynb",
     {"participant": "1234501", "file": "pytorch_fundamentals.ipynb"}),
    ("/x/extracted/Carol Curie_1234501_assignsubmission_file_/pytorch_fundamentals.ipynb",  # in folders
     {"participant": "1234501", "file": "pytorch_fundamentals.ipynb"}),
    ("/x/extracted/O_Brien Mary_77_assignsubmission_file_my_nb_2.ipynb", {"participant": "77", "file": "my_nb_2.ipynb"}),
])
def test_moodle_names_give_the_participant_and_the_file(name, expected):
    assert lms.parse_moodle_name(name) == expected


@pytest.mark.parametrize("name", ["/x/curiecarol_5003_880001_pytorch_fundamentals.ipynb", "/x/pytorch_fundamentals.ipynb",
                                  "/x/Carol_12_assignsubmission_onlinetext_a.ipynb"])
def test_other_names_are_not_moodle_s(name):
    assert lms.parse_moodle_name(name) is None


def _moodle(tmp_path, **traits):
    (tmp_path / "worksheet.csv").write_text(WORKSHEET)
    return lms.MoodleCollector(parent=None, worksheet=str(tmp_path / "worksheet.csv"), **traits)


def test_a_moodle_file_gets_the_worksheet_s_id_and_moodle_s_submission_time(tmp_path):
    collector = _moodle(tmp_path, timezone="Europe/Amsterdam")
    got = collector.collect("/x/Carol Curie_1234501_assignsubmission_file_/pytorch_fundamentals.ipynb")
    assert got == {"student_id": "carol", "file_id": "pytorch_fundamentals.ipynb",
                   "timestamp": datetime(2026, 12, 1, 12, 5)}  # 13:05 in Amsterdam is 12:05 UTC


def test_moodle_files_without_a_time_or_a_participant(tmp_path, caplog):
    collector = _moodle(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert collector.collect("/x/Dan Doe_1234502_assignsubmission_file_nb.ipynb") == {"student_id": "dan",
                                                                                           "file_id": "nb.ipynb"}
        assert collector.collect("/x/Eve_999_assignsubmission_file_nb.ipynb") is None
    assert "No submission time for dan" in caplog.text and "Participant 999 is not in the worksheet" in caplog.text
    with pytest.raises(ValueError, match="MoodleCollector.worksheet"):
        lms.MoodleCollector(parent=None).collect("/x/Eve_999_assignsubmission_file_nb.ipynb")


def test_the_course_s_collector_hands_each_file_to_its_lms(tmp_path):
    from traitlets.config import Config

    (tmp_path / "worksheet.csv").write_text(WORKSHEET)
    (tmp_path / "canvas.csv").write_text(ROSTER)
    config = Config()
    config.MoodleCollector.worksheet = str(tmp_path / "worksheet.csv")
    config.CanvasCollector.roster = str(tmp_path / "canvas.csv")
    collector = lms.LmsCollector(config=config)
    assert collector.collect("/x/Carol Curie_1234501_assignsubmission_file_nb.ipynb")["timestamp"] == datetime(2026, 12, 1, 13, 5)
    assert collector.collect("/x/doedan_5004_880002_pytorch_fundamentals-2.ipynb") == {
        "student_id": "dan", "file_id": "pytorch_fundamentals.ipynb"}


def moodle_upload(path):
    """What Moodle's "Upload grading worksheet" reads from `path`: rows matched by "Identifier"
    (Participant <n>), each "Grade" a number no larger than its "Maximum Grade", or blank."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for row in rows:
        assert row["Identifier"].startswith("Participant "), row
        grade = float(row["Grade"]) if row["Grade"] else None
        assert grade is None or 0 <= grade <= float(row["Maximum Grade"]), row
        out[row["Identifier"]] = grade
    return out


def test_the_moodle_export_is_what_moodle_s_upload_reads(tmp_path, caplog):
    from nbgrader.api import Gradebook
    from traitlets.config import Config

    at = datetime(2026, 12, 1, 12, 5)
    url = tiny_gradebook(tmp_path, datetime(2026, 12, 1, 23, 59), 95, {"carol": (at, 80), "zoe": (at, 80)},
                         hand={"carol": 4.5})
    (tmp_path / "worksheet.csv").write_text(WORKSHEET)
    config = Config()
    config.MoodleCollector.worksheet = str(tmp_path / "worksheet.csv")
    plugin = lms.MoodleExport(config=config)
    plugin.to = str(tmp_path / "moodle_grades.csv")
    with Gradebook(url) as gb, caplog.at_level(logging.WARNING):
        plugin.export(gb)
    # carol: 84.5 of 100 is 8.45 of Moodle's 10; dan, no submission here, keeps Moodle's 7
    assert moodle_upload(tmp_path / "moodle_grades.csv") == {"Participant 1234501": 8.45, "Participant 1234502": 7.0}
    assert (tmp_path / "moodle_grades.csv").read_text().splitlines()[0] == WORKSHEET.splitlines()[0]
    assert "not exported: zoe" in caplog.text
