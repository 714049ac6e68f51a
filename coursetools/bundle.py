"""What students get: the release notebook, its data and the few packages it needs, nothing else.

`week13 student-bundle [--out DIR]` (`make student-bundle`) writes, from the generated release/ (never
from source/, notebooks/ or autograder/):

    DIR/pytorch_fundamentals.ipynb     the release notebook (no solutions, no hidden tests, no rubric)
    DIR/data/wine_*.csv                the Exercise 1 data, beside it as the notebook expects
    DIR/requirements-student.txt       the pins of requirements.txt the notebook and Validate need
    DIR/README.txt                     how to set up, work and check
    DIR.zip                            the same, one file to hand out (an LMS upload)

On JupyterHub, nbgrader's exchange delivers the same release folder.
"""

import shutil
import zipfile
from pathlib import Path

from . import ASSIGNMENT, NOTEBOOK, REPO, RELEASE_NB

# What the notebook imports and what a student's JupyterLab needs to run it and press Validate.
STUDENT_PACKAGES = ("torch", "numpy", "scikit-learn", "matplotlib", "pandas", "jupyterlab", "ipykernel", "nbgrader")

STUDENT_README = f"""Week 13 - PyTorch Fundamentals: the assignment

1. Set up once (Python 3.11, 3.12 or 3.13): python3 -m venv .venv && .venv/bin/pip install -r requirements-student.txt
   (torch is the CPU build where you add --extra-index-url https://download.pytorch.org/whl/cpu on Linux)
2. Start JupyterLab here: .venv/bin/jupyter lab {NOTEBOOK}
3. Work top to bottom: write your code where it says YOUR CODE HERE; the test cell after each part checks it.
   Parts with hidden tests are graded again on inputs you have not seen, so solve the general problem.
4. Before you hand it in: Kernel > Restart Kernel and Run All Cells, then the Validate button
   (or: .venv/bin/nbgrader validate {NOTEBOOK}). Hand in {NOTEBOOK} only.
Keep the data/ folder beside the notebook (also on Google Colab).
"""


def student_requirements(requirements: Path = REPO / "requirements.txt") -> str:
    """The lines of requirements.txt that pin STUDENT_PACKAGES, in its order, torch first."""
    keep = []
    for line in requirements.read_text().splitlines():
        name = line.split("#", 1)[0].split("==", 1)[0].strip().lower()
        if name in STUDENT_PACKAGES:
            keep.append(line.split("#", 1)[0].strip())
    missing = set(STUDENT_PACKAGES) - {line.split("==", 1)[0].lower() for line in keep}
    if missing:
        raise ValueError(f"requirements.txt pins none of {sorted(missing)}")
    return "\n".join(["# Week 13 (PyTorch Fundamentals): what the notebook needs; the course's own pins", *keep]) + "\n"


def write_bundle(out: Path | str, release: Path = RELEASE_NB.parent) -> Path:
    """Write the student bundle into folder `out` (replaced) and `out`.zip; returns the zip's path."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(Path(release) / NOTEBOOK, out / NOTEBOOK)
    (out / "data").mkdir()
    for csv in sorted((Path(release) / "data").glob("*.csv")):
        shutil.copy(csv, out / "data" / csv.name)
    (out / "requirements-student.txt").write_text(student_requirements())
    (out / "README.txt").write_text(STUDENT_README)
    archive = out.with_name(out.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            zf.write(path, Path(ASSIGNMENT) / path.relative_to(out))
    return archive
