"""A gradebook of one small assignment for the unit tier (imported by name: never `from conftest
import`): week13 with one notebook `nb`, an autograded cell `ex1_test` and the hand-graded
`ex3_answer` (5 points), as nbgrader's own API builds it (no nbgrader process)."""

from datetime import datetime


def tiny_gradebook(folder, due: datetime | None, auto_points: float, submissions: dict[str, tuple[datetime, float]],
                   hand: dict[str, float] | None = None, students: tuple[str, ...] = ()) -> str:
    """The URL of a new SQLite gradebook in `folder`: {student: (submitted at, autograded points)}
    submitted, `hand` points for ex3_answer, and `students` enrolled without a submission."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("week13", duedate=due)
        gb.add_notebook("nb", "week13")
        gb.add_grade_cell("ex1_test", "nb", "week13", max_score=auto_points, cell_type="code")
        gb.add_solution_cell("ex1_sol", "nb", "week13")
        gb.add_grade_cell("ex3_answer", "nb", "week13", max_score=5, cell_type="markdown")
        gb.add_solution_cell("ex3_answer", "nb", "week13")
        for student, (stamp, auto) in submissions.items():
            gb.add_student(student)
            gb.add_submission("week13", student, timestamp=stamp)
            gb.find_grade("ex1_test", "nb", "week13", student).auto_score = auto
        for student, points in (hand or {}).items():
            gb.find_grade("ex3_answer", "nb", "week13", student).manual_score = points
        for student in students:
            gb.add_student(student)
        gb.db.commit()
    return url
