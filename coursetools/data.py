"""The tabular data set of Exercise 1, exported from scikit-learn's bundled wine data.

`write_wine_csvs(folder)` writes `wine_train.csv` and `wine_test.csv`
(a stratified 70/30 split, fixed seed). The files in `source/week13/data/`
are its output; a test regenerates them and compares byte for byte.
"""

import csv
from pathlib import Path

TARGET = "target"
FILES = ("wine_train.csv", "wine_test.csv")


def _rows(X, y):
    for features, label in zip(X, y):
        # repr() of a float64 is the shortest text that reads back exactly.
        yield [repr(float(v)) for v in features] + [str(int(label))]


def write_wine_csvs(folder: Path | str) -> list[Path]:
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    data = load_wine()
    header = [name.replace("/", "_") for name in data.feature_names] + [TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=13, stratify=data.target
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in zip(FILES, ((X_train, y_train), (X_test, y_test))):
        with open(folder / name, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(_rows(X, y))
    return [folder / name for name in FILES]
