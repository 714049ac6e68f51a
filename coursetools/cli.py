"""The course tool, `week13 <command>` (installed by `make env`; the Makefile calls it).

    week13 data          write the Exercise 1 CSV files into source/week13/data
    week13 notebooks     generate and execute notebooks/ from source/
    week13 grade-class   grade every submission under submitted/ (docs/grading.md)
    week13 student-bundle  what students get: the release notebook, its data, its packages
    week13 similarity    pairs of submissions whose answer code is too alike (coursetools/similarity.py)
    week13 class-report  what the class missed: points per part, the checks failed most (coursetools/report.py)

This is the command-line edge: the environment ($WEEK13_DB_URL) is read here, once, and every
setting goes on as an argument. The sample submissions and the benchmark have their own commands
(`python -m sample_submissions`, `python -m benchmarks`): the tool never imports test data.
"""

import argparse
import os
import sys

from . import REPO, SOURCE_NB


def cmd_data(args: argparse.Namespace) -> None:
    from .data import write_wine_csvs

    for path in write_wine_csvs(SOURCE_NB.parent / "data"):
        print("wrote", path.relative_to(REPO))


def cmd_notebooks(args: argparse.Namespace) -> None:
    from .notebooks import build_worked_notebook

    print("wrote", build_worked_notebook().relative_to(REPO))


def cmd_grade_class(args: argparse.Namespace) -> None:
    from .classgrade import main as grade_class_main
    from .gradebook import DB_URL_VARIABLE

    # The command-line edge: the gradebook URL is read here, once, and passed on explicitly.
    sys.exit(grade_class_main(args.root, args.workers, args.only, db_url=args.db_url or os.environ.get(DB_URL_VARIABLE),
                              scheduler=args.scheduler, cell_timeout=args.cell_timeout))


def cmd_student_bundle(args: argparse.Namespace) -> None:
    from .bundle import write_bundle

    print("wrote", write_bundle(args.out))


def cmd_similarity(args: argparse.Namespace) -> None:
    from .similarity import compare, summary

    pairs, skipped, report = compare(args.root, args.out, args.threshold)
    print(summary(pairs, skipped, report, args.threshold))


def cmd_class_report(args: argparse.Namespace) -> None:
    from .gradebook import DB_URL_VARIABLE
    from .report import class_report

    page, text = class_report(args.root, db_url=args.db_url or os.environ.get(DB_URL_VARIABLE), out=args.out)
    print(text + f"\n\nclass report: {page}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="week13", description="Week 13 (PyTorch Fundamentals): the course tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("data", help="write the Exercise 1 CSV files into source/week13/data").set_defaults(fn=cmd_data)
    sub.add_parser("notebooks", help="generate and execute notebooks/ from source/").set_defaults(fn=cmd_notebooks)
    klass = sub.add_parser("grade-class", help="grade every submission under submitted/: feedback, CSV, summary")
    klass.add_argument("--root", default=str(REPO), help="the course root (default: this repository)")
    klass.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    klass.add_argument("--student", action="append", dest="only", metavar="ID",
                       help="regrade only this student (repeatable); the others keep their grades")
    klass.add_argument("--db-url", default=None, metavar="URL",
                       help="the gradebook's SQLAlchemy URL, e.g. postgresql://grader:PASSWORD@dbhost/week13 "
                            "(default: $WEEK13_DB_URL, else gradebook.db in the course root)")
    klass.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on a Dask cluster, e.g. tcp://HOST:8786 (docs/dask.md)")
    klass.add_argument("--cell-timeout", type=int, default=None, metavar="S",
                       help="seconds one cell may run (default: RobustExecute.timeout in nbgrader_config.py, 60)")
    klass.set_defaults(fn=cmd_grade_class)
    bundle = sub.add_parser("student-bundle", help="write what students get: the release notebook, its data, "
                                                   "requirements-student.txt (and a zip of them)")
    bundle.add_argument("--out", default=str(REPO / "build" / "student" / "week13"), help="the folder to write")
    bundle.set_defaults(fn=cmd_student_bundle)
    similar = sub.add_parser("similarity", help="pairs of submissions under submitted/ whose answer code is too "
                                                "alike, and copydetect's HTML report")
    similar.add_argument("--root", default=str(REPO), help="the course root (default: this repository)")
    similar.add_argument("--out", default=None, help="where the answers and the report go (default: build/similarity)")
    similar.add_argument("--threshold", type=float, default=0.9, help="the share of one student's code for a part "
                                                                       "found in the other's (default 0.9: "
                                                                       "coursetools/similarity.py says why)")
    similar.set_defaults(fn=cmd_similarity)
    report = sub.add_parser("class-report", help="from the gradebook: points per part (histograms) and the checks "
                                                 "the class failed most, as build/class-report/index.html")
    report.add_argument("--root", default=str(REPO), help="the course root (default: this repository)")
    report.add_argument("--db-url", default=None, metavar="URL", help="the gradebook (default: $WEEK13_DB_URL, "
                                                                      "else gradebook.db in the course root)")
    report.add_argument("--out", default=None, help="the folder to write (default: build/class-report)")
    report.set_defaults(fn=cmd_class_report)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
