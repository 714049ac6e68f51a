"""Copied answers: which submissions' code is too alike to be independent (`week13 similarity`).

nbgrader compares nothing across students. This runs copydetect (winnowed fingerprints of the
tokenised code, so renamed variables, moved comments and changed strings do not hide a copy) over
the students' answers, part by part (Cell 4's `train_epoch` with the others' `train_epoch`), and
lists, for the instructor to review, the pairs whose code for a part is above a threshold, with
copydetect's HTML report of the matching lines for each part.

A student's answers are the code cells of the submitted notebook that are not the release's own:
the solution cells as the student left them and any cell the student added. The release's code
(its teaching cells, the stubs, the tests) is copydetect's boilerplate, so two students who both
left a stub, or both kept a demo cell, are not alike for that. The notebook is found and read as
grading finds it (coursetools/submission.py: nothing followed, a size limit); one that cannot be
read is listed, not compared. Nothing is graded, and nothing is written outside `out`.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import ASSIGNMENT, NOTEBOOK, safefiles, submission
from . import notebooks as nbs

DEFAULT_THRESHOLD = 0.9  # the share of one student's code for a part found in the other's: answers to one short
# specification converge (independent correct train_epoch, compare_schedulers or fit share 60-80 %
# of their tokens in the crafted samples); a copy with renamed names and new comments shares 100 %


@dataclass(frozen=True)
class Pair:
    part: str  # "cell4", "ex2", ...; "added" for the cells a student added
    first: str
    second: str
    first_share: float  # of `first`'s code in this part, the share found in `second`'s
    second_share: float
    tokens: int  # tokens the two share


def answers_by_part(nb, release_nb) -> dict[str, str]:
    """{part: the student's code for it}: each code cell of `nb` whose source is not one of the
    release's code cells, under the part of the release's solution cell it is (by cell id: a
    solution cell the student edited), else under "added"."""
    released = {c.source.strip() for c in release_nb.cells if c.cell_type == "code"}
    part_of = {c.get("id"): nbs.grade_id(c).split("_", 1)[0] for c in release_nb.cells
               if c.cell_type == "code" and (nbs.grade_id(c) or "").endswith("_solution")}
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip() and cell.source.strip() not in released:
            part = part_of.get(cell.get("id"), "added")
            out[part] = (out[part] + "\n\n" if part in out else "") + cell.source
    return out


def _safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", student)


def collect_answers(root: Path, out: Path) -> tuple[dict[str, dict[str, Path]], dict[str, str]]:
    """Write each student's code for each part as out/answers/<part>/<student>.py and the release's
    code as out/release/release.py; ({part: {student: file}}, {student: why not compared})."""
    release_nb = nbs.read(root / "release" / ASSIGNMENT / NOTEBOOK)
    answers, boiler = out / "answers", out / "release"
    if answers.is_dir():
        for old in answers.glob("*/*.py"):
            old.unlink()
    boiler.mkdir(parents=True, exist_ok=True)
    (boiler / "release.py").write_text("\n\n".join(c.source for c in release_nb.cells if c.cell_type == "code"))
    files, skipped = {}, {}
    for folder in sorted((root / "submitted").iterdir()) if (root / "submitted").is_dir() else []:
        if folder.is_symlink() or (folder / ASSIGNMENT).is_symlink() or not (folder / ASSIGNMENT).is_dir():
            skipped[folder.name] = "not a submission folder (or a link)"
            continue
        path, note = submission.find_notebook(folder / ASSIGNMENT, NOTEBOOK)
        if path is None:
            skipped[folder.name] = note
            continue
        try:
            nb = nbformat.reads(safefiles.read_regular(path, submission.NOTEBOOK_LIMIT).decode("utf-8"), as_version=4)
        except Exception as e:  # invalid JSON, not a notebook, too large, a link
            skipped[folder.name] = f"the notebook cannot be read ({type(e).__name__})"
            continue
        parts = answers_by_part(nb, release_nb)
        if not parts:
            skipped[folder.name] = "no answer code (the release as handed out)"
        for part, code in parts.items():
            (answers / part).mkdir(parents=True, exist_ok=True)
            files.setdefault(part, {})[folder.name] = answers / part / f"{_safe_name(folder.name)}.py"
            files[part][folder.name].write_text(code)
    return files, skipped


def compare(root: Path | str, out: Path | str | None = None, threshold: float = DEFAULT_THRESHOLD
            ) -> tuple[list[Pair], dict[str, str], list[Path]]:
    """(the pairs of students whose code for one part is at least `threshold` alike, most alike
    first; the students not compared and why; copydetect's HTML report of each part compared)."""
    from copydetect import CopyDetector

    root = Path(root)
    out = Path(out) if out else root / "build" / "similarity"
    files, skipped = collect_answers(root, out)
    pairs, reports = [], []
    for part, students in sorted(files.items()):
        if len(students) < 2:
            continue
        by_file = {str(path): student for student, path in students.items()}
        report = out / f"report-{part}.html"
        detector = CopyDetector(test_dirs=[str(out / "answers" / part)], ref_dirs=[str(out / "answers" / part)],
                                boilerplate_dirs=[str(out / "release")], extensions=["py"], display_t=threshold,
                                autoopen=False, silent=True, out_file=str(report))
        detector.run()
        for first_share, second_share, first, second, *_, tokens in detector.get_copied_code_list():
            if max(first_share, second_share) >= threshold:
                pairs.append(Pair(part, by_file[str(first)], by_file[str(second)], round(float(first_share), 3),
                                  round(float(second_share), 3), int(tokens)))
        detector.generate_html_report()
        reports.append(report)
    pairs.sort(key=lambda p: (-max(p.first_share, p.second_share), p.part, p.first, p.second))
    return pairs, skipped, reports


def summary(pairs: list[Pair], skipped: dict[str, str], reports: list[Path], threshold: float) -> str:
    lines = [f"{len(pairs)} pair(s) whose code for one part is at least {threshold:.0%} alike (review them by hand; "
             "copydetect's reports show the matching lines):"]
    lines += [f"  {p.part}: {p.first} ~ {p.second}: {p.first_share:.0%} of {p.first}'s code, {p.second_share:.0%} "
              f"of {p.second}'s ({p.tokens} tokens)" for p in pairs]
    lines += [f"  not compared: {student}: {why}" for student, why in sorted(skipped.items())]
    lines += [f"report: {r}" for r in reports]
    return "\n".join(lines)
