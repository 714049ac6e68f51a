"""`make conda-check`: conda's install from environment.yml, repeated step by step, then the reference
graded with plain `nbgrader autograde` in the environment it made.

    python tests/conda_check.py [--python PYTHON] [--dir build/conda-check]

`conda env create -f environment.yml` does two things: it installs the file's conda dependencies
(`python=3.11` and `pip`) into a new environment, then writes the `pip:` list, line for line, to a
requirements file and runs `python -m pip install -U -r FILE --exists-action=b` in the folder of
environment.yml (so `--editable .` is this course). No conda channel is reachable from the course's
CI machines, so the first step is a fresh `python -m venv` of a Python of the version the file
names; the second is conda's own pip command on the file's own list. Then the reference answers are
submitted to a scratch course and graded by that environment's `nbgrader autograde`: it must get
every autograded point, sandboxed. Exit status 0 only then. Not part of `make test`: it installs every pin
again (a few minutes; 23 where download.pytorch.org cannot be reached, as on the course's CI
machines, because pip retries that index for every package); the closing note of issue 20 shows a run.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENT = REPO / "environment.yml"

# Run in the new environment: the reference, graded by its own nbgrader in a scratch course.
GRADE = """
import json, sys
from pathlib import Path
from coursetools.notes import NOTES_SUFFIX, read_notes
from coursetools import ASSIGNMENT
from coursetools.classgrade import NB_NAME
from sample_submissions.catalogue import REFERENCE
from sample_submissions.harness import grade_samples
root = Path(sys.argv[1])
results, seconds = grade_samples([REFERENCE], root, workers=1)
r = results[REFERENCE.student]
notes = read_notes(root / "autograded" / REFERENCE.student / ASSIGNMENT / (NB_NAME + NOTES_SUFFIX))
print(json.dumps({"total": r.total, "maximum": r.maximum, "failures": r.failures, "mode": notes.get("mode"),
                  "seconds": round(seconds, 1)}))
"""


def conda_parts(path: Path = ENVIRONMENT) -> tuple[str, list[str]]:
    """(the Python version the file names, its pip list in order), read as conda reads the file."""
    spec = yaml.safe_load(path.read_text())
    python, pip = None, None
    for dep in spec["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            pip = [str(line) for line in dep["pip"]]
        elif isinstance(dep, str) and dep.split("=")[0] == "python":
            python = dep.split("=", 1)[1]
    if python is None or pip is None:
        raise SystemExit(f"{path}: expected a python=X.Y dependency and a pip: list")
    return python, pip


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/conda_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="python3",
                        help="the interpreter that stands in for conda's python=X.Y")
    parser.add_argument("--dir", default=str(REPO / "build" / "conda-check"))
    args = parser.parse_args(argv)
    version, pip_lines = conda_parts()
    work = Path(args.dir).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = work / "env"
    start = time.monotonic()
    run([args.python, "-m", "venv", str(env)])
    python = str(env / "bin" / "python")
    found = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if found != version:
        raise SystemExit(f"environment.yml names python={version}, but {args.python} is {found}")
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    requirements = work / "condaenv.requirements.txt"  # conda's own name pattern: condaenv.<random>.requirements.txt
    requirements.write_text("\n".join(pip_lines) + "\n")
    run([python, "-m", "pip", "install", "--quiet", "-U", "-r", str(requirements), "--exists-action=b"], cwd=ENVIRONMENT.parent)
    installed = time.monotonic() - start
    proc = subprocess.run([python, "-c", GRADE, str(work / "course")], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    torch = subprocess.run([python, "-c", "import torch; print(torch.__version__, torch.version.cuda)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"conda-style environment from environment.yml in {installed:.0f} s (python {found}, torch {torch}); "
          f"the reference graded by its nbgrader: {result['total']:g}/{result['maximum']:g}, {result['mode']}, "
          f"in {result['seconds']} s")
    ok = result["total"] == result["maximum"] == 95 and not result["failures"] and result["mode"] == "sandboxed"
    if not ok:
        print("FAILED: expected 95/95, no failing test cell, sandboxed", result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
