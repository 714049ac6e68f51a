"""Plain-text tables, rendered one way for every report of the course (grade tables, the class
summary, the grader suite's expectations)."""

from collections.abc import Sequence


def render(rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """`rows[0]` is the header; every cell is shown with `str`. Columns are as wide as their widest
    cell, those in `right` right-aligned; the last column is left free (it holds the long reasons).
    A rule of dashes follows the header."""
    text = [[str(cell) for cell in row] for row in rows]
    if not text:
        return ""
    ncols = max(len(row) for row in text)
    text = [row + [""] * (ncols - len(row)) for row in text]
    widths = [max(len(row[i]) for row in text) for i in range(ncols - 1)]

    def line(row):
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        return "  ".join(cells + [row[-1]]).rstrip()

    head = line(text[0])
    return "\n".join([head, "-" * len(head), *(line(row) for row in text[1:])])


def score(value: float) -> str:
    """A score as graders write it: 7.5, 10, 0."""
    return f"{value:g}"
