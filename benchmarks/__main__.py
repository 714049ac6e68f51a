"""`python -m benchmarks` (from the repository root; `make bench`): time running and grading the
course on this machine. Not a test: figures and ratios, JSON in benchmarks/results/."""

import argparse

from coursetools import REPO

from . import bench


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--copies", type=int, default=8, help="submissions in the graded batch (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each single figure (default 3)")
    parser.add_argument("--workers", type=int, default=None, help="parallel graders (default: one per core)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder for the JSON results")
    parser.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"), help="compare two result files")
    args = parser.parse_args(argv)
    if args.compare:
        print(bench.compare(*args.compare))
        return
    result = bench.run(copies=args.copies, repeat=args.repeat, out=args.out, workers=args.workers)
    print()
    print(bench.report(result))
    print("\nwrote " + " and ".join(result["written"]))


if __name__ == "__main__":
    main()
