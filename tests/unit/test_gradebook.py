"""coursetools.gradebook: the gradebook URL rule, and clearing only autograded scores."""

from types import SimpleNamespace

import pytest
from nbgrader.api import Gradebook

from coursetools import gradebook as gbk

# nbgrader's own add_submission trips SQLAlchemy autoflush warnings: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture
def no_db_env(monkeypatch):
    monkeypatch.delenv(gbk.DB_URL_VARIABLE, raising=False)


def test_default_url_is_the_sqlite_file_in_the_root(tmp_path, no_db_env):
    assert gbk.gradebook_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


def test_the_environment_is_not_read_here(tmp_path, monkeypatch):
    """$WEEK13_DB_URL is read at the edges only (command line, nbgrader_config.py, a Dask worker):
    a scratch course's gradebook is its own file whatever the shell exports."""
    monkeypatch.setenv(gbk.DB_URL_VARIABLE, "sqlite:////elsewhere/gb.db")
    assert gbk.gradebook_url(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


def test_explicit_url_beats_the_sqlite_file(tmp_path, no_db_env):
    assert gbk.gradebook_url(tmp_path, "sqlite:////explicit.db") == "sqlite:////explicit.db"


def test_empty_url_means_the_sqlite_file(tmp_path, no_db_env):
    assert gbk.gradebook_url(tmp_path, "").startswith("sqlite:///")


@pytest.mark.parametrize("given", ["postgresql://u:p@host:5432/gb", "postgres://u:p@host:5432/gb"])
def test_bare_postgres_urls_use_psycopg2(tmp_path, no_db_env, given):
    assert gbk.gradebook_url(tmp_path, given) == "postgresql+psycopg2://u:p@host:5432/gb"


def test_an_explicit_driver_is_kept(tmp_path, no_db_env):
    assert gbk.gradebook_url(tmp_path, "postgresql+psycopg2://h/gb") == "postgresql+psycopg2://h/gb"


@pytest.fixture
def gradebook(tmp_path):
    """A tiny SQLite gradebook: assignment `week13`, notebook `nb` with an autograded code cell `ex1_test`
    and a hand-graded written answer `ex3_answer`; students alice (submitted, graded) and bob (no submission)."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("week13")
        gb.add_notebook("nb", "week13")
        gb.add_grade_cell("ex1_test", "nb", "week13", max_score=3, cell_type="code")
        gb.add_solution_cell("ex1_sol", "nb", "week13")
        gb.add_grade_cell("ex3_answer", "nb", "week13", max_score=5, cell_type="markdown")
        gb.add_solution_cell("ex3_answer", "nb", "week13")
        gb.add_student("alice")
        gb.add_student("bob")
        gb.add_submission("week13", "alice")
        code = gb.find_grade("ex1_test", "nb", "week13", "alice")
        code.auto_score, code.manual_score, code.extra_credit = 3, 2, 1
        written = gb.find_grade("ex3_answer", "nb", "week13", "alice")
        written.auto_score, written.manual_score = 0, 4
        comment = gb.find_comment("ex3_answer", "nb", "week13", "alice")
        comment.auto_comment, comment.manual_comment = "No response.", "Well argued."
        gb.db.commit()
    return SimpleNamespace(url=url, assignment="week13", notebook="nb")


def read_alice(gradebook):
    with Gradebook(gradebook.url) as gb:
        code = gb.find_grade("ex1_test", "nb", "week13", "alice")
        written = gb.find_grade("ex3_answer", "nb", "week13", "alice")
        comment = gb.find_comment("ex3_answer", "nb", "week13", "alice")
        return SimpleNamespace(
            code=SimpleNamespace(auto=code.auto_score, manual=code.manual_score, extra=code.extra_credit),
            written=SimpleNamespace(auto=written.auto_score, manual=written.manual_score),
            comment=SimpleNamespace(auto=comment.auto_comment, manual=comment.manual_comment))


def test_the_fixture_really_holds_scores(gradebook):
    before = read_alice(gradebook)
    assert (before.code.auto, before.code.manual, before.code.extra) == (3, 2, 1)
    assert before.comment.auto == "No response."


def test_clear_auto_scores_forgets_auto_scores_and_comments_only(gradebook):
    n = gbk.clear_auto_scores(gradebook.url, "week13", "alice")
    assert n == 2
    after = read_alice(gradebook)
    assert after.code.auto is None and after.written.auto is None
    assert after.comment.auto is None
    assert (after.code.manual, after.code.extra) == (2, 1)
    assert after.written.manual == 4
    assert after.comment.manual == "Well argued."


def test_clear_auto_scores_without_a_submission_is_zero(gradebook):
    assert gbk.clear_auto_scores(gradebook.url, "week13", "bob") == 0
    assert gbk.clear_auto_scores(gradebook.url, "week13", "nobody") == 0
    assert gbk.clear_auto_scores(gradebook.url, "week99", "alice") == 0
    assert read_alice(gradebook).code.auto == 3


def test_submitted_students(gradebook):
    assert gbk.submitted_students(gradebook.url, "week13") == {"alice"}
    assert gbk.submitted_students(gradebook.url, "week99") == set()
