"""The sample harness: what a crafted submission is, how it is written into a course, and what
its grade is expected to be. Test data and its checks; the course tooling never imports it
(sample_submissions -> coursetools, never the other way).
"""

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coursetools import ASSIGNMENT, NOTEBOOK, tables
from coursetools import notebooks as nbs
from coursetools.course import make_course
from coursetools.grading import PARTS, Result, autograde, read_results

from week13_checks.ex2 import REPLACED_WHILE_COMPARING

from . import names


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
    # Which of the release's teaching cells run (blank_teaching: they cost two thirds of the run, and
    # nothing graded reads them): True all; "used" those that use the sample's answers (and what
    # they need); False none, each left as the student got it becomes a one-line comment.
    teaching: bool | str = False
    components: tuple = ()  # pack(): the samples whose answers share this one notebook

    def notebook(self, release_nb, source_nb):
        nb = nbs.fill_solutions(release_nb, source_nb) if self.answered else release_nb
        nb = nbs.apply_edits(nb, self.edits)
        nb = self.transform(nb) if self.transform else nb
        if self.teaching is True:
            return nb
        keep = set()
        if self.teaching == "used":
            keep = names.needed_by(nb, names.reached_from(nb, {c.id for c in nb.cells if nbs.grade_id(c) in self.edits}))
        return blank_teaching(nb, release_nb, keep)

    @property
    def parts(self) -> set[str]:
        """The parts the sample's edits touch or that it must lose."""
        return {part_of(gid) for gid in self.edits} | set(self.loses)

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


TEACHING_STUB = "# a teaching cell, not run in this crafted sample (sample_submissions/harness.py: blank_teaching)"


def part_of(grade_id: str) -> str:
    return grade_id.split("_", 1)[0]


def is_teaching(cell) -> bool:
    """A code cell of the lesson itself: no grade, no answer, and not the imports every cell needs."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and not meta.get("grade") and not meta.get("solution") and cell.get("id") != "setup"


def blank_teaching(nb, release_nb, keep: set[str] = frozenset()):
    """`nb` with each teaching cell that is still exactly as released and not in `keep` (cell ids)
    replaced by TEACHING_STUB (cells the sample changed or added stay as they are)."""
    released = {c.get("id"): c.source for c in release_nb.cells if is_teaching(c)}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_teaching(cell) and cell.get("id") not in keep and released.get(cell.get("id")) == cell.source:
            cell.source = TEACHING_STUB
    return nb


def graded_view(nb, source_nb):
    """What the grader runs: `nb` with every locked cell (the tests, hidden ones included) as in
    the source notebook, as nbgrader's autograde restores them."""
    nb = copy.deepcopy(nb)
    locked = {nbs.grade_id(c): c.source for c in source_nb.cells
              if c.metadata.get("nbgrader", {}).get("locked") and nbs.grade_id(c)}
    for cell in nb.cells:
        if nbs.grade_id(cell) in locked:
            cell.source = locked[nbs.grade_id(cell)]
    return nb


def reach(sample: Sample, release_nb, source_nb) -> set[str]:
    """The parts whose grade can depend on the sample's answers, or its answers on theirs: its own,
    every part whose cells read (directly or not) a name that one of its edited cells defines, and
    every part whose answer cells its edited cells read from (an Exercise 4 `fit` that calls Cell 4's
    `train_epoch` would be graded on another member's `train_epoch`). Exercise 2's compare_schedulers
    is graded with the reference train_epoch and evaluate in the notebook's place
    (week13_checks.ex2.REPLACED_WHILE_COMPARING), so calling them inside it reaches no Cell 4 answer."""
    nb = graded_view(sample.notebook(release_nb, source_nb), source_nb)
    edited = {c.id for c in nb.cells if nbs.grade_id(c) in sample.edits}
    cells = {c.id: nbs.grade_id(c) for c in nb.cells}
    replaced = {i: set(REPLACED_WHILE_COMPARING) for i, g in cells.items() if g == "ex2_solution"}
    touched = names.reached_from(nb, edited, replaced) | names.needed_by(nb, edited, replaced)
    return sample.parts | {part_of(cells[i]) for i in touched if cells[i]}


def packable(sample: Sample) -> bool:
    """A sample that only replaces answer text (no moved cells, no files, no file-level problems)."""
    return (sample.answered and not sample.teaching and sample.transform is None and sample.raw is None
            and sample.filename == NOTEBOOK and sample.status == "graded" and sample.beside is None
            and not sample.components and bool(sample.edits))


def pack(samples: Sequence[Sample], release_nb, source_nb) -> list[Sample]:
    """The samples in as few graded notebooks as keep each claim: a packed notebook holds samples
    whose reaches (`reach`) are disjoint, so each part's grade still depends on one sample only.
    Correct answers are packed with correct answers and run with the teaching cells that use them
    (every cell that runs a correct answer must run); mistakes with mistakes, without any. Samples
    that move cells, add files or are not a plain answer stay alone. Deterministic: first fit, in
    the given order."""
    out, packs = [], []
    for sample in samples:
        if not packable(sample):
            out.append(sample)
            continue
        correct = not sample.loses
        reached = reach(sample, release_nb, source_nb)
        for p in packs:
            if p["correct"] == correct and not (p["reach"] & reached):
                p["members"].append(sample)
                p["reach"] |= reached
                break
        else:
            packs.append({"correct": correct, "reach": set(reached), "members": [sample]})
            out.append(packs[-1])
    return [item if isinstance(item, Sample) else _packed(item["members"], item["correct"])
            for item in out]


def _packed(members: list[Sample], correct: bool) -> Sample:
    teaching = "used" if correct else False
    if len(members) == 1 and not correct:
        return members[0]
    edits = {}
    for m in members:
        edits.update(m.edits)
    kind = "correct" if correct else "mistakes"
    return Sample(f"packed_{kind}_{members[0].student}", "; ".join(m.about for m in members), edits,
                  loses=tuple(p for m in members for p in m.loses), fails=tuple(f for m in members for f in m.fails),
                  teaching=teaching, components=tuple(members))


def submit(course: Path, samples: Iterable[Sample]) -> None:
    """Write each sample into the course's submitted/<student>/week13/, as `nbgrader collect` would."""
    release_nb = nbs.read(Path(course) / "release" / ASSIGNMENT / NOTEBOOK)
    source_nb = nbs.read(Path(course) / "source" / ASSIGNMENT / NOTEBOOK)
    for sample in samples:
        sample.write(Path(course) / "submitted", release_nb, source_nb)


def grade_samples(samples: Sequence[Sample], workdir: Path, workers: int | None = None,
                  trusted: bool = False) -> tuple[dict[str, Result], float]:
    """A scratch course in `workdir` (made there unless it already holds one), the samples submitted
    and autograded by real nbgrader: (results by student, wall seconds of the autograding).
    `trusted`: where no sandbox can start, grade unsandboxed (the samples are the course's own code)."""
    course = workdir if (Path(workdir) / "gradebook.db").is_file() else make_course(workdir)
    submit(course, samples)
    students = [s.student for s in samples]
    seconds = autograde(course, students, workers, trusted=trusted)
    return read_results(course, students), seconds


def problems(sample: Sample, result: Result, parts=PARTS) -> list[str]:
    """How `result` contradicts what `sample` expects in `parts`; [] when the grade is right. A
    packed sample: each member in the parts it owns, every other part at full marks."""
    if not sample.answered:
        return [] if result.total == 0 else [f"expected 0 points, got {result.total:g}"]
    if sample.components:
        owned = set().union(*(m.parts for m in sample.components))
        rest = Sample(sample.student, "the parts no member owns")
        return [f"{m.student}: {p}" for m in sample.components for p in problems(m, result, sorted(m.parts))] + \
            problems(rest, result, [p for p in parts if p not in owned])
    out = []
    failures = {gid for gid in result.failures if part_of(gid) in parts}
    if sample.fails and failures != set(sample.fails):
        out.append(f"expected exactly {sorted(sample.fails)} to fail, got {sorted(failures)}")
    for part in parts:
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
    """One row per sample (each member of a packed notebook on its own row, judged on the parts
    it owns): submission, the notebook it was graded in, expected, got, verdict, first failing check."""
    rows = [("submission", "graded in", "expected", "got", "ok", "first failing check")]
    for graded in samples:
        r = results[graded.student]
        for sample in graded.components or (graded,):
            parts = sorted(sample.parts) if graded.components else PARTS
            mine = Result(r.student, {p: r.parts[p] for p in parts},
                          {g: m for g, m in r.failures.items() if part_of(g) in parts})
            rows.append((sample.student, graded.student if graded.components else "own", expected_text(sample),
                         got_text(mine), "yes" if not problems(sample, r, parts) else "NO",
                         mine.first_failure()[:100]))
    return tables.render(rows)
