"""Gradebook access shared by the autograde pipeline, `grade-class` and the tests.

Only autograded scores are ever reset here: manual scores, comments and extra
credit that a person entered in the formgrader are never touched.
"""

import os
from pathlib import Path

DB_URL_VARIABLE = "WEEK13_DB_URL"


def normalise_url(url):
    """SQLAlchemy 2.1 maps a bare postgresql:// URL to psycopg 3; the course pins psycopg2."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


def gradebook_url(root, url=None):
    """The gradebook's SQLAlchemy URL: `url`, else $WEEK13_DB_URL (e.g. a shared PostgreSQL), else
    root/gradebook.db. nbgrader_config.py calls this too, so nbgrader and the tooling agree."""
    url = url or os.environ.get(DB_URL_VARIABLE) or f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"
    return normalise_url(url)


def clear_auto_scores(db_url, assignment, student):
    """Forget a student's autograded scores and automatic comments before a regrade.

    A regrade that then fails leaves no score (never the previous one); a
    regrade that succeeds writes them again. Manual scores, manual comments and
    extra credit stay. Returns the number of grades reset (0: no submission yet).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
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


def submitted_students(db_url, assignment):
    """The students with a submission of the assignment in the gradebook (one query for the class)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            return {submission.student.id for submission in gb.find_assignment(assignment).submissions}
        except MissingEntry:
            return set()
