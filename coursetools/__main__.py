"""Course commands: `python -m coursetools <command>` (the Makefile calls these)."""

import argparse
import os
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


def cmd_grade_class(args):
    from .classgrade import main as grade_class_main
    from .gradebook import DB_URL_VARIABLE

    # The command-line edge: the gradebook URL is read here, once, and passed on explicitly.
    sys.exit(grade_class_main(args.root, args.workers, args.only, db_url=args.db_url or os.environ.get(DB_URL_VARIABLE),
                              scheduler=args.scheduler))


def cmd_bench(args):
    from . import bench

    if args.compare:
        print(bench.compare(*args.compare))
        return
    result = bench.run(copies=args.copies, repeat=args.repeat, out=args.out, workers=args.workers)
    print()
    print(bench.report(result))
    print("\nwrote " + " and ".join(result["written"]))


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
    klass = sub.add_parser("grade-class", help="grade every submission under submitted/: feedback, CSV, summary")
    klass.add_argument("--root", default=str(REPO), help="the course root (default: this repository)")
    klass.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    klass.add_argument("--student", action="append", dest="only", metavar="ID",
                       help="regrade only this student (repeatable); the others keep their grades")
    klass.add_argument("--db-url", default=None, metavar="URL",
                       help="the gradebook's SQLAlchemy URL, e.g. postgresql://grader:PASSWORD@dbhost/week13 "
                            "(default: $WEEK13_DB_URL, else gradebook.db in the course root)")
    klass.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on a Dask cluster, e.g. tcp://HOST:8786 (README, 'Grading on several machines')")
    klass.set_defaults(fn=cmd_grade_class)
    bench = sub.add_parser("bench", help="time running and grading the course on this machine (not a test)")
    bench.add_argument("--copies", type=int, default=8, help="submissions in the graded batch (default 8)")
    bench.add_argument("--repeat", type=int, default=3, help="runs of each single figure (default 3)")
    bench.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    bench.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder for the JSON results")
    bench.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"), help="compare two result files")
    bench.set_defaults(fn=cmd_bench)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
