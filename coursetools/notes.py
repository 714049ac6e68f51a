"""The grading notes of one graded notebook: `<notebook>.grading.json` beside it in autograded/,
with notes for the student and review flags for the instructor. The preprocessors write them
(`RebuildFromRelease`, `RobustExecute`: coursetools/preprocessors/); `grade-class` reads them for its
summary and CSV. nbgrader never copies them into feedback/ (nbgrader_config.py: CourseDirectory.ignore).
"""

import json
from pathlib import Path
from typing import Any

from nbgrader.coursedir import CourseDirectory

NOTES_SUFFIX = ".grading.json"


def notes_path(coursedir: CourseDirectory, resources: dict[str, Any]) -> Path:
    """Where the grading notes of the notebook being graded are kept (beside the graded notebook)."""
    info = resources["nbgrader"]
    folder = coursedir.format_path(coursedir.autograded_directory, info["student"], info["assignment"])
    return Path(folder) / (info["notebook"] + NOTES_SUFFIX)


def add_notes(path: Path | str, **fields: Any) -> None:
    """Merge `fields` into the notes file: lists are extended, other values replaced."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    for key, value in fields.items():
        if isinstance(value, list):
            data.setdefault(key, []).extend(v for v in value if v not in data.get(key, []))
        else:
            data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_notes(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}
