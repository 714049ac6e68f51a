"""Course commands: `python -m coursetools <command>` (the Makefile calls these)."""

import argparse
import sys
from pathlib import Path

from . import REPO, SOURCE_NB


def cmd_data(args):
    from .data import write_wine_csvs

    for path in write_wine_csvs(SOURCE_NB.parent / "data"):
        print("wrote", path.relative_to(REPO))


def cmd_notebooks(args):
    from .notebooks import build_worked_notebook

    print("wrote", build_worked_notebook().relative_to(REPO))


def cmd_grade_samples(args):
    from .grading import grade_samples, table

    sys.path.insert(0, str(REPO))
    import sample_submissions

    samples = sample_submissions.ALL if args.all else sample_submissions.DEMO
    workdir = Path(args.workdir)
    print(f"autograding {len(samples)} sample submissions in {workdir} ...", flush=True)
    results, seconds = grade_samples(samples, workdir, workers=args.workers)
    print(table(samples, results))
    print(f"\nautograded in {seconds:.1f} s; written answers (ex3_answer, 5 points) are graded by hand "
          f"in the formgrader. Autograded notebooks: {workdir / 'autograded'}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursetools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("data", help="write the Exercise 1 CSV files into source/week13/data").set_defaults(fn=cmd_data)
    sub.add_parser("notebooks", help="generate and execute notebooks/ from source/").set_defaults(fn=cmd_notebooks)
    grade = sub.add_parser("grade-samples", help="autograde the sample submissions and print the grade table")
    grade.add_argument("--all", action="store_true", help="every crafted submission, not only the demo set")
    grade.add_argument("--workdir", default=str(REPO / "build" / "sample_course"))
    grade.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    grade.set_defaults(fn=cmd_grade_samples)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
