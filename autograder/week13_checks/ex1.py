"""Hidden tests for Exercise 1: MyTabularDataset."""

import csv
import os
import tempfile

import numpy as np
import torch
from torch.utils.data import DataLoader

from . import _pristine as P
from ._pristine import abs, all, float, int, len, list, range, repr, str, type
from ._report import CheckFailed, expect
from . import check

_TMP = tempfile.mkdtemp(prefix="w13-hidden-ex1-")


def _write_csv(name, header, rows):
    path = os.path.join(_TMP, name)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:  # a row is a list of (kind, value); kind "label" is written as an integer
            writer.writerow([str(int(v)) if kind == "label" else repr(float(v)) for kind, v in row])
    return path


def _table(name, n_rows, n_features, target_at, target_name="target", seed=0, constant=None, n_classes=3,
           classes=None):
    """Write a CSV with random features on different scales; return (path, features, labels, feature names)."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.integers(-2, 4, size=n_features)
    features = np.round(rng.normal(size=(n_rows, n_features)) * scales + rng.normal(size=n_features) * scales, 4)
    if constant is not None:
        features[:, constant] = 3.25
    labels = rng.integers(0, n_classes, size=n_rows)
    if classes is not None:  # the labels this file holds (a split may lack a class)
        labels = np.asarray(classes)[labels % len(classes)]
    names = [f"f{j}" for j in range(n_features)]
    header = names[:target_at] + [target_name] + names[target_at:]
    rows = []
    for r in range(n_rows):
        cells = [("feature", v) for v in features[r]]
        cells.insert(target_at, ("label", labels[r]))
        rows.append(cells)
    return _write_csv(name, header, rows), features, labels, names


def _item(ds, i, n_features, where, strict=True):
    """ds[i] as (list of floats, int). `strict` checks the exact types the contract names
    (float32 x, int64 0-d y); the checks about values pass strict=False, so that a dtype mistake
    costs points in the checks about items and batches, not in every check of the exercise."""
    out = ds[i]
    expect(type(out) in (tuple, list) and len(out) == 2, f"{where} should return a pair (x, y), got {type(out).__name__}")
    x, y = out
    expect(P.is_plain_tensor(x), f"{where}: x should be a torch.Tensor, got {type(x).__name__}")
    expect(P.shape_of(x) == (n_features,), f"{where}: x should have shape ({n_features},), got {P.shape_of(x)}")
    expect(P.is_plain_tensor(y), f"{where}: y should be a torch.Tensor, got {type(y).__name__}")
    expect(P.shape_of(y) in ((), (1,)) if not strict else P.shape_of(y) == (),
           f"{where}: y should be a 0-d tensor (a single label), got shape {P.shape_of(y)}")
    if strict:
        expect(P.dtype_of(x) == P.dtype_float32, f"{where}: x should be float32, got {P.dtype_of(x)}")
        expect(P.dtype_of(y) == P.dtype_int64, f"{where}: y should be int64 (torch.long), got {P.dtype_of(y)}")
    label = P.values(y)
    label = label[0] if type(label) is list else label
    return [float(v) for v in P.values(x)], (int(label) if float(label) == int(label) else label)


def _standardised(features, mean, std):
    scale = np.where(std == 0, 1.0, std)
    return ((features - mean) / scale).tolist()


def _check_stat(ds, attr, want, n_features, what):
    got = P.getattr(ds, attr, None)
    expect(P.is_plain_tensor(got), f"self.{attr} should be a torch.Tensor, got {type(got).__name__}")
    expect(P.dtype_of(got) == P.dtype_float32 and P.shape_of(got) == (n_features,),
           f"self.{attr} should be a float32 tensor of shape ({n_features},), got {P.dtype_of(got)} {P.shape_of(got)}")
    expect(P.all_close(P.values(got), list(float(v) for v in want), rtol=1e-5, atol=1e-5), what)


def _check_rows(ds, features, labels, mean, std, context, strict=False):
    want = _standardised(features, np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64))
    for i in range(len(features)):
        x, y = _item(ds, i, features.shape[1], f"ds[{i}]", strict=strict)
        expect(P.all_close(x, want[i], rtol=1e-4, atol=1e-4),
               f"{context}: ds[{i}][0] should be (row - mean) / std of row {i}")
        expect(y == int(labels[i]), f"{context}: ds[{i}][1] should be the row's target {int(labels[i])}, got {y}")


def _own(ds, attr):
    """The dataset's own statistic as a list of floats (its value is judged by the statistics check)."""
    value = P.getattr(ds, attr, None)
    expect(P.is_plain_tensor(value), f"self.{attr} should be a torch.Tensor, got {type(value).__name__}")
    return [float(v) for v in P.values(value)]


@check("ex1_hidden_statistics")
def statistics(ns):
    cls = ns["MyTabularDataset"]
    for n_rows, n_features, seed in ((3, 4, 1), (40, 6, 2)):  # 3 rows: ddof=0 and ddof=1 differ by sqrt(3/2)
        path, features, labels, _ = _table(f"stats_{n_rows}.csv", n_rows, n_features, n_features, seed=seed)
        ds = cls(path)
        mean, std = features.mean(axis=0), features.std(axis=0)
        _check_stat(ds, "mean", mean, n_features, f"self.mean should be each feature column's mean ({n_rows}-row file)")
        sample_std = features.std(axis=0, ddof=1)
        got_std = P.values(ds.std) if P.is_plain_tensor(ds.std) else None
        if got_std is not None and P.all_close(got_std, sample_std.tolist(), rtol=1e-4, atol=1e-6):
            raise CheckFailed("self.std is the sample std (ddof=1); use the population std (ddof=0, unbiased=False), "
                              "as StandardScaler does")
        _check_stat(ds, "std", std, n_features, f"self.std should be each feature column's population std ({n_rows}-row file)")
        _check_rows(ds, features, labels, mean, std, f"{n_rows}-row file")


@check("ex1_hidden_given_statistics")
def given_statistics(ns):
    cls = ns["MyTabularDataset"]
    train_path, _, _, _ = _table("split_train.csv", 30, 5, 5, seed=3)
    test_path, test_x, test_y, _ = _table("split_test.csv", 12, 5, 5, seed=4)
    train = cls(train_path)
    test = cls(test_path, mean=train.mean, std=train.std)
    own_mean = test_x.mean(axis=0)
    if P.is_plain_tensor(test.mean) and P.all_close(P.values(test.mean), own_mean.tolist(), rtol=1e-4, atol=1e-6):
        raise CheckFailed("given mean and std were ignored: the test split recomputed its own statistics "
                          "(use the mean and std passed in)")
    given_mean, given_std = _own(train, "mean"), _own(train, "std")  # whatever the training split computed
    _check_stat(test, "mean", given_mean, 5, "self.mean should be the mean passed in (the training split's)")
    _check_stat(test, "std", given_std, 5, "self.std should be the std passed in (the training split's)")
    _check_rows(test, test_x, test_y, given_mean, given_std, "test split with the training statistics")
    # The statistics may be given as Python lists, NumPy arrays or tensors (of any float dtype).
    mean_, std_ = np.arange(1.0, 6.0), np.full(5, 2.0)
    for given, what in (((mean_.tolist(), std_.tolist()), "lists"), ((mean_, std_), "NumPy arrays"),
                        ((torch.tensor(mean_), torch.tensor(std_)), "float64 tensors")):
        fixed = cls(test_path, mean=given[0], std=given[1])
        _check_stat(fixed, "mean", mean_, 5, f"self.mean should be the mean passed in (given as {what})")
        _check_stat(fixed, "std", std_, 5, f"self.std should be the std passed in (given as {what})")
        _check_rows(fixed, test_x, test_y, mean_, std_, f"mean=[1, ..., 5], std=[2, ...] given as {what}")


@check("ex1_hidden_constant_column")
def constant_column(ns):
    cls = ns["MyTabularDataset"]
    path, features, labels, _ = _table("constant.csv", 10, 4, 4, seed=5, constant=2)
    ds = cls(path)
    for i in range(len(features)):
        x, _ = _item(ds, i, 4, f"ds[{i}]", strict=False)
        expect(all(P.isfinite(v) for v in x), f"ds[{i}] has NaN or inf: a column whose std is 0 should be divided by 1")
        expect(abs(x[2]) <= 1e-6, f"a constant column should standardise to 0, got {x[2]!r} in ds[{i}]")
    std = P.values(ds.std)
    expect(abs(std[2]) <= 1e-6 or abs(std[2] - 1.0) <= 1e-6, "self.std of a constant column should be 0 (or the 1 used instead)")
    _check_rows(ds, features, labels, features.mean(axis=0), _own(ds, "std"), "file with a constant column")
    # A constant column given as std=0 by the caller is divided by 1 as well.
    given = cls(path, mean=[0.0] * 4, std=[1.0, 1.0, 0.0, 1.0])
    x, _ = _item(given, 0, 4, "ds[0]", strict=False)
    expect(all(P.isfinite(v) for v in x), "a given std of 0 should also be replaced by 1 (no NaN or inf)")


@check("ex1_hidden_target_column")
def target_column(ns):
    cls = ns["MyTabularDataset"]
    for at, name, seed in ((2, "label", 6), (0, "cultivar", 7)):
        path, features, labels, names = _table(f"target_{name}.csv", 15, 5, at, target_name=name, seed=seed)
        ds = cls(path, target_column=name)
        mean = features.mean(axis=0)
        expect(P.all_close(_own(ds, "mean"), mean.tolist(), rtol=1e-5, atol=1e-5),
               f"with target_column={name!r} at position {at}, the features are all the other columns in file order "
               f"(do not assume the target is last)")
        _check_rows(ds, features, labels, mean, _own(ds, "std"), f"target column {name!r} at position {at}")
    # A file whose targets are only 1 and 2 (a split without class 0): the targets are the file's own,
    # never renumbered per file (LabelEncoder().fit_transform on each file would make them 0 and 1).
    path, features, labels, _ = _table("target_classes_1_2.csv", 12, 4, 4, seed=11, classes=(1, 2))
    ds = cls(path)
    got = [_item(ds, i, 4, f"ds[{i}]", strict=False)[1] for i in range(len(features))]
    expect(got == [int(v) for v in labels],
           f"a file whose targets are only 1 and 2 should give the targets 1 and 2 as they are, got {sorted(set(got))}: "
           "use the target column's integers, never renumber them per file (a split may lack a class)")


@check("ex1_hidden_indexing")
def indexing(ns):
    cls = ns["MyTabularDataset"]
    path, _, _, _ = _table("index.csv", 9, 3, 3, seed=8)
    ds = cls(path)
    n = ds.__len__()
    expect(type(n) is int and n == 9, f"len(ds) should be the number of data rows (9), got {n!r}")
    # Negative indices are compared with the dataset's own ds[row]: the values themselves are checked elsewhere.
    for idx, row in ((-1, 8), (-9, 0), (-4, 5)):
        want_x, want_y = _item(ds, row, 3, f"ds[{row}]")
        try:
            x, y = _item(ds, idx, 3, f"ds[{idx}]")
        except IndexError:
            raise CheckFailed(f"ds[{idx}] on 9 rows should be ds[{row}] (negative indices count from the end, "
                              f"like a list's), but it raised IndexError") from None
        expect(P.all_close(x, want_x, rtol=0, atol=1e-6) and y == want_y,
               f"ds[{idx}] on 9 rows should be ds[{row}] (negative indices count from the end, like a list's)")
    for idx in (9, 100, -10):
        try:
            ds[idx]
        except IndexError:
            continue
        except Exception as e:
            raise CheckFailed(f"ds[{idx}] on 9 rows should raise IndexError, got {type(e).__name__}") from None
        raise CheckFailed(f"ds[{idx}] on 9 rows should raise IndexError, but returned a value")


@check("ex1_hidden_errors")
def errors(ns):
    cls = ns["MyTabularDataset"]
    missing = os.path.join(_TMP, "no_such_file.csv")
    try:
        cls(missing)
    except FileNotFoundError:
        pass
    except Exception as e:
        raise CheckFailed(f"a missing file should raise FileNotFoundError, got {type(e).__name__}") from None
    else:
        raise CheckFailed("a missing file should raise FileNotFoundError, but the dataset was created")
    path, _, _, _ = _table("no_target.csv", 5, 3, 3, target_name="target", seed=9)
    try:
        cls(path, target_column="quality_grade")
    except ValueError as e:
        expect("quality_grade" in str(e), f"the ValueError should name the missing column 'quality_grade', got: {e}")
    except Exception as e:
        raise CheckFailed(f"a missing target column should raise ValueError, got {type(e).__name__}") from None
    else:
        raise CheckFailed("a missing target column should raise ValueError naming the column, but the dataset was created")


@check("ex1_hidden_loader")
def loader(ns):
    cls = ns["MyTabularDataset"]
    path, _, _, _ = _table("loader.csv", 10, 7, 3, seed=10)
    ds = cls(path)
    # Batches are compared with the dataset's own items: the values themselves are checked elsewhere.
    items = [_item(ds, i, 7, f"ds[{i}]") for i in range(10)]
    want, labels = [x for x, _ in items], [y for _, y in items]
    sizes, rows = [], 0
    for xb, yb in DataLoader(ds, batch_size=4):
        expect(P.is_plain_tensor(xb) and P.dtype_of(xb) == P.dtype_float32 and P.shape_of(xb)[1:] == (7,),
               f"a DataLoader batch of x should be float32 of shape (B, 7), got {P.dtype_of(xb)} {P.shape_of(xb)}")
        expect(P.is_plain_tensor(yb) and P.dtype_of(yb) == P.dtype_int64 and len(P.shape_of(yb)) == 1,
               f"a DataLoader batch of y should be int64 of shape (B,), got {P.dtype_of(yb)} {P.shape_of(yb)}")
        b = P.shape_of(xb)[0]
        expect(P.shape_of(yb) == (b,), "x and y batches should have the same batch size")
        expect(P.all_close(P.values(xb), want[rows:rows + b], rtol=0, atol=1e-6),
               "DataLoader batches of x should stack ds[i][0] of the rows in order")
        expect(P.values(yb) == labels[rows:rows + b], "DataLoader batches of y should stack ds[i][1] of the rows in order")
        sizes.append(b)
        rows += b
    expect(sizes == [4, 4, 2], f"10 rows in batches of 4 should give batch sizes [4, 4, 2], got {sizes}")


