"""A fast developer harness: run sample submissions against the hidden tests, without nbgrader.

    python -m sample_submissions.quick [STUDENT ...] [--jobs N] [--timeout S] [--autograder DIR]

For each sample (all of `ALL` and `variants.CORRECT` when none is named; a name
may also be a prefix ending in `*`, e.g. `ex4_*`), the graded notebook is built
from the SOURCE notebook (hidden tests included) with every solution cell's
source replaced by the submission's (the release with the sample's answers,
matched by grade id), executed with nbclient in one kernel (errors allowed, the
hidden checks imported at kernel start as the grader does), and one line per
failing test cell is printed (grade id and the first line of the error; errors
in ungraded cells are shown too, marked "not graded", and never count), then
OK / UNEXPECTED against the sample's `loses` and `fails`.

It is a quick approximation of `nbgrader autograde` (no state restore between
cells, no kernel restarts): the real grade comes from coursetools.grading.
Exit status 1 when any sample is UNEXPECTED.
"""

import argparse
import copy
import fnmatch
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from coursetools import REPO, RELEASE_NB, SOURCE_NB
from coursetools import notebooks as nbs
from coursetools.grading import PARTS
from coursetools.preprocessors import RobustExecute

# the grading kernel's own start-up (RobustExecute.hidden_modules), quieter
KERNEL_ARGS = [*RobustExecute().extra_arguments, "--IPKernelApp.log_level=ERROR"]


def all_samples():
    from .catalogue import ALL
    from .variants import CORRECT

    seen, out = set(), []
    for s in [*ALL, *CORRECT]:
        if s.student not in seen:
            seen.add(s.student)
            out.append(s)
    return out


def is_test_cell(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def graded_notebook(sample, release_nb, source_nb):
    """The source notebook (hidden tests in place) with the submission's solution cells."""
    submission = sample.notebook(release_nb, source_nb)
    answers = {nbs.grade_id(c): c.source for c in submission.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(source_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def failures(nb):
    """{grade id: first line of the error} for every test cell with an error output (or that did not run)."""
    out = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not is_test_cell(cell):  # reported, never graded
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    out[f"(cell {index}, not graded)"] = f"{output.ename}: {output.evalue}".strip().splitlines()[0][:300]
                    break
            continue
        if not is_test_cell(cell):
            continue
        gid = nbs.grade_id(cell)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                out[gid] = f"{output.ename}: {output.evalue}".strip().splitlines()[0][:300]
                break
        else:
            if cell.get("execution_count") is None:
                out[gid] = "(did not run)"
    return out


def _run_one(args):
    sample, timeout, autograder = args
    from nbclient import NotebookClient

    source_nb = nbs.read(SOURCE_NB)
    # The release as students get it; while it is being regenerated, the source stands in for it
    # (fill_solutions strips the solution markers either way).
    release_nb = nbs.read(RELEASE_NB) if RELEASE_NB.exists() else source_nb
    start = time.perf_counter()
    try:
        nb = graded_notebook(sample, release_nb, source_nb)
    except Exception as e:  # an edit that no longer applies
        return sample.student, {"(edits)": f"{type(e).__name__}: {e}"}, 0.0
    # the kernel's environment: `autograder` first on its path (ahead of the installed checks)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(autograder)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            extra_arguments=KERNEL_ARGS, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(SOURCE_NB.parent)}})
    try:
        client.execute(env=env)
    except Exception as e:  # a dead kernel or a timeout outside allow_errors
        fails = failures(nb)
        fails["(kernel)"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return sample.student, fails, time.perf_counter() - start
    return sample.student, failures(nb), time.perf_counter() - start


def verdict(sample, fails):
    """'OK' or 'UNEXPECTED: why', against the sample's `loses` and `fails`."""
    fails = {gid: m for gid, m in fails.items() if not gid.endswith("not graded)")}
    if not sample.answered:
        return "OK" if fails else "UNEXPECTED: the unanswered release passed every test"
    why = []
    failed_parts = {gid.split("_", 1)[0] for gid in fails}
    for part in PARTS:
        if part in sample.loses and part not in failed_parts:
            why.append(f"{part} should lose points but no {part} test failed")
        elif part not in sample.loses and part in failed_parts:
            why.append(f"{part} should keep every point")
    if sample.fails:
        missing = [g for g in sample.fails if g not in fails]
        extra = [g for g in fails if g not in sample.fails and g.split("_", 1)[0] in sample.loses]
        if missing:
            why.append("expected to fail but passed: " + ", ".join(missing))
        if extra:
            why.append("failed but not expected: " + ", ".join(extra))
    for key in ("(edits)", "(kernel)"):
        if key in fails:
            why.append(fails[key])
    return "OK" if not why else "UNEXPECTED: " + "; ".join(why)


def select(samples, names):
    if not names:
        return samples
    out = []
    for name in names:
        hits = [s for s in samples if fnmatch.fnmatchcase(s.student, name)]
        if not hits:
            raise SystemExit(f"no sample named {name!r}")
        out += [s for s in hits if s not in out]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sample_submissions.quick", description=__doc__.split("\n\n")[0])
    parser.add_argument("students", nargs="*", help="sample names (shell-style patterns allowed); default: all")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="parallel kernels (default 2)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--autograder", default=str(REPO / "autograder"),
                        help="folder holding week13_checks and grading_guard (default: the repo's autograder/; "
                             "e.g. a `git archive HEAD autograder` copy to test against the committed checks)")
    args = parser.parse_args(argv)
    samples = select(all_samples(), args.students)
    by_name = {s.student: s for s in samples}
    bad = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for student, fails, seconds in pool.map(_run_one, [(s, args.timeout, os.path.abspath(args.autograder)) for s in samples]):
            sample = by_name[student]
            v = verdict(sample, fails)
            bad += v != "OK"
            expected = ", ".join(sample.fails) if sample.fails else ("-" if not sample.loses else "loses " + "+".join(sample.loses))
            print(f"== {student}  ({seconds:.1f} s)  expected: {expected}")
            for gid, message in fails.items():
                print(f"   {gid}: {message}")
            print(f"   {v}", flush=True)
    print(f"{len(samples)} samples, {bad} unexpected, {time.perf_counter() - start:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
