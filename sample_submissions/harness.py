"""The sample harness: what a crafted submission is, how it is written into a course, and what
its grade is expected to be. Test data and its checks; the course tooling never imports it
(sample_submissions -> coursetools, never the other way).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coursetools import ASSIGNMENT, NOTEBOOK, tables
from coursetools import notebooks as nbs
from coursetools.course import make_course
from coursetools.grading import PARTS, Result, autograde, read_results


@dataclass
class Sample:
    """A crafted submission: the reference answers with `edits` applied (or the untouched release)."""

    student: str
    about: str
    edits: dict = field(default_factory=dict)
    loses: tuple = ()  # parts that must lose autograded points; every other part keeps all of them
    fails: tuple = ()  # grade ids of the test cells that must fail (a mistake caught for the right reason)
    answered: bool = True  # False: the release notebook exactly as students receive it
    transform: Callable | None = None  # optional: notebook -> notebook, after the edits (cells moved, tags, ...)
    raw: str | None = None  # optional: the file's text instead of a notebook (e.g. invalid JSON)
    filename: str | None = NOTEBOOK  # the name the student saved it under (None: no notebook at all)
    status: str = "graded"  # "not graded": the class grader must refuse it with a reason
    beside: Callable | None = None  # optional: folder -> None, adds files or links beside the notebook


    def notebook(self, release_nb, source_nb):
        nb = nbs.fill_solutions(release_nb, source_nb) if self.answered else release_nb
        nb = nbs.apply_edits(nb, self.edits)
        return self.transform(nb) if self.transform else nb

    def write(self, folder: Path, release_nb, source_nb) -> None:
        folder = Path(folder) / self.student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        if self.filename is None:  # a submission without the notebook
            (folder / "notes.txt").write_text("I could not find my notebook\n")
        elif self.raw is not None:
            (folder / self.filename).write_text(self.raw)
        else:
            nbs.write(self.notebook(release_nb, source_nb), folder / self.filename)
        if self.beside:
            self.beside(folder)


def submit(course: Path, samples: Iterable[Sample]) -> None:
    """Write each sample into the course's submitted/<student>/week13/, as `nbgrader collect` would."""
    release_nb = nbs.read(Path(course) / "release" / ASSIGNMENT / NOTEBOOK)
    source_nb = nbs.read(Path(course) / "source" / ASSIGNMENT / NOTEBOOK)
    for sample in samples:
        sample.write(Path(course) / "submitted", release_nb, source_nb)


def grade_samples(samples: Sequence[Sample], workdir: Path,
                  workers: int | None = None) -> tuple[dict[str, Result], float]:
    """A scratch course in `workdir`, the samples submitted and autograded by real nbgrader:
    (results by student, wall seconds of the autograding)."""
    course = make_course(workdir)
    submit(course, samples)
    students = [s.student for s in samples]
    seconds = autograde(course, students, workers)
    return read_results(course, students), seconds


def problems(sample: Sample, result: Result) -> list[str]:
    """How `result` contradicts what `sample` expects; [] when the grade is right."""
    if not sample.answered:
        return [] if result.total == 0 else [f"expected 0 points, got {result.total:g}"]
    out = []
    if sample.fails and set(result.failures) != set(sample.fails):
        out.append(f"expected exactly {sorted(sample.fails)} to fail, got {sorted(result.failures)}")
    for part in PARTS:
        score, maximum = result.parts[part]
        if part in sample.loses and score >= maximum:
            out.append(f"{part}: expected to lose points, got full marks {score:g}/{maximum:g}")
        elif part not in sample.loses and score != maximum:
            out.append(f"{part}: expected full marks, got {score:g}/{maximum:g}")
    return out


def expected_text(sample: Sample) -> str:
    if not sample.answered:
        return "0"
    return "full" if not sample.loses else "loses " + "+".join(sample.loses)


def got_text(result: Result) -> str:
    lost = [f"{p} {s:g}/{m:g}" for p, (s, m) in result.parts.items() if s < m]
    return f"{result.total:g}/{result.maximum:g}" + (f" ({', '.join(lost)})" if lost and len(lost) <= 2 else "")


def expectation_table(samples: Sequence[Sample], results: dict[str, Result]) -> str:
    """Submission, expected, got, verdict and the first failing check, one row each."""
    rows = [("submission", "expected", "got", "ok", "first failing check")]
    for sample in samples:
        r = results[sample.student]
        rows.append((sample.student, expected_text(sample), got_text(r),
                     "yes" if not problems(sample, r) else "NO", r.first_failure()[:100]))
    return tables.render(rows)
