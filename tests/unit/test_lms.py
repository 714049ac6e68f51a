"""coursetools.lms: the names of Canvas's submissions archive, its roster, and its LATE marker."""

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
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
    return lms.CanvasCollector(parent=None, roster="canvas.csv" if roster else ""), course


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
