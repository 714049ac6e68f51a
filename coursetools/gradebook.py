"""Gradebook access shared by the autograde pipeline, `grade-class` and the tests.

Only autograded scores are ever reset here: manual scores, comments and extra
credit that a person entered in the formgrader are never touched.
"""

from pathlib import Path

DB_URL_VARIABLE = "WEEK13_DB_URL"


def normalise_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare postgresql:// URL to psycopg 3; the course pins psycopg2."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


def gradebook_url(root: Path | str, url: str | None = None) -> str:
    """The gradebook's SQLAlchemy URL: `url` (e.g. a shared PostgreSQL), else root/gradebook.db.

    The environment is read only at the edges (the `week13` command line, nbgrader_config.py and a
    Dask worker read $WEEK13_DB_URL, `DB_URL_VARIABLE`, and pass it here), so nothing deeper
    can pick up an instructor's gradebook by accident; nbgrader and the tooling call this one rule."""
    return normalise_url(url or f"sqlite:///{Path(root).resolve() / 'gradebook.db'}")


def clear_auto_scores(db_url: str, assignment: str, student: str) -> int:
    """Forget a student's autograded scores and automatic comments before a regrade.

    A regrade that then fails leaves no score (never the previous one); a
    regrade that succeeds writes them again. Manual scores, manual comments and
    extra credit stay. Returns the number of grades reset (0: no submission yet).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(normalise_url(db_url)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return 0
        n = 0
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = None
                grade.needs_manual_grade = True
                n += 1
            for comment in notebook.comments:
                comment.auto_comment = None
        gb.db.commit()
        return n


def submitted_students(db_url: str, assignment: str) -> set[str]:
    """The students with a submission of the assignment in the gradebook (one query for the class)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(normalise_url(db_url)) as gb:
        try:
            return {submission.student.id for submission in gb.find_assignment(assignment).submissions}
        except MissingEntry:
            return set()
