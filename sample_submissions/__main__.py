"""`python -m sample_submissions [--all]` (from the repository root; `make grade-samples`,
`make course`): grade the sample submissions with real nbgrader in a scratch course and print
the grade table. The samples use the course tooling; the tooling never imports them."""

import argparse
import dataclasses
from pathlib import Path

from coursetools import REPO
from coursetools.grading import grade_table
from coursetools.sandbox import probe

from . import ALL, DEMO
from .catalogue import packed
from .harness import expectation_table, grade_samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sample_submissions", description=__doc__)
    parser.add_argument("--all", action="store_true", help="every crafted submission, not only the demo set")
    parser.add_argument("--workdir", default=str(REPO / "build" / "sample_course"))
    parser.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    # The samples are the course's own code: where no sandbox can start (macOS, no user namespaces)
    # they are graded unsandboxed, said in one line; students' work is still refused there.
    no_sandbox = probe("bwrap")
    if no_sandbox:
        print(f"no sandbox on this machine ({no_sandbox}): the course's own sample submissions are "
              "graded unsandboxed (trusted code); grading students' work refuses here", flush=True)
    if args.all:  # the grader suite's run: every sample, packed (catalogue.packed), judged one by one
        samples = packed()
        print(f"autograding {len(ALL)} sample submissions in {len(samples)} notebooks in {workdir} ...", flush=True)
        results, seconds = grade_samples(samples, workdir, workers=args.workers, trusted=bool(no_sandbox))
        print(expectation_table(samples, results))
    else:  # what students hand in: whole notebooks, teaching cells and all
        samples = [dataclasses.replace(s, teaching=True) for s in DEMO]
        print(f"autograding {len(samples)} sample submissions in {workdir} ...", flush=True)
        results, seconds = grade_samples(samples, workdir, workers=args.workers, trusted=bool(no_sandbox))
        print(grade_table(results[s.student] for s in samples))
    print(f"\nautograded in {seconds:.1f} s; written answers (ex3_answer, 5 points) are graded by hand "
          f"in the formgrader. Autograded notebooks: {workdir / 'autograded'}")


if __name__ == "__main__":
    main()
