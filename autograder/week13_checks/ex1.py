"""Hidden tests for Exercise 1: MyTabularDataset, decided outside the kernel.

Each check is a function of a `Kernel` (_client.py): it writes CSV files it generated itself into
the kernel, asks the kernel to build the student's dataset on them and to hand back items,
statistics and DataLoader batches as plain data, and compares those numbers with the
standardisation it computed here, with NumPy, from the same tables. No object of the student's
interpreter reaches these functions, and no expected value reaches the kernel.
"""

import csv
import io

import numpy as np

from . import _client as K
from . import _pristine as P
from ._client import Raised
from ._report import CheckFailed, expect


def _csv_text(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:  # a row is a list of (kind, value); kind "label" is written as an integer
        writer.writerow([str(int(v)) if kind == "label" else repr(float(v)) for kind, v in row])
    return out.getvalue()


def _table(k, name, n_rows, n_features, target_at, target_name="target", seed=0, constant=None, n_classes=3,
           classes=None):
    """Write a CSV with random features on different scales into the kernel; return (its path
    there, features, labels, feature names)."""
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
    return k.csv(name, _csv_text(header, rows)), features, labels, names


def _item(k, ds, i, n_features, where, strict=True):
    """ds[i] as (list of floats, int). `strict` checks the exact types the contract names
    (float32 x, int64 0-d y); the checks about values pass strict=False, so that a dtype mistake
    costs points in the checks about items and batches, not in every check of the exercise."""
    return _read_item(k.item(ds, i), n_features, where, strict)


def _items(k, ds, indices, n_features, strict=True):
    """_item of every index in `indices`, fetched in one round trip and read in order: the first
    item that raised, or that is not an item, stops here as it would have one item at a time."""
    for i, out in zip(indices, k.items_at(ds, indices)):
        if isinstance(out, Raised):
            raise out
        yield i, _read_item(out, n_features, f"ds[{i}]", strict)


def _read_item(out, n_features, where, strict):
    expect(K.kind(out) in ("tuple", "list") and out.get("length") == 2,
           f"{where} should return a pair (x, y), got {K.type_name(out)}")
    x, y = K.items(out)
    expect(K.is_plain_tensor(x), f"{where}: x should be a torch.Tensor, got {K.type_name(x)}")
    expect(K.shape_of(x) == (n_features,), f"{where}: x should have shape ({n_features},), got {K.shape_of(x)}")
    expect(K.is_plain_tensor(y), f"{where}: y should be a torch.Tensor, got {K.type_name(y)}")
    expect(K.shape_of(y) in ((), (1,)) if not strict else K.shape_of(y) == (),
           f"{where}: y should be a 0-d tensor (a single label), got shape {K.shape_of(y)}")
    if strict:
        expect(K.dtype_of(x) == "torch.float32", f"{where}: x should be float32, got {K.dtype_of(x)}")
        expect(K.dtype_of(y) == "torch.int64", f"{where}: y should be int64 (torch.long), got {K.dtype_of(y)}")
    label = K.values(y)
    label = label[0] if type(label) is list else label
    return [float(v) for v in K.values(x)], (int(label) if np.isfinite(label) and float(label) == int(label) else label)


def _standardised(features, mean, std):
    scale = np.where(std == 0, 1.0, std)
    return ((features - mean) / scale).tolist()


def _check_stat(k, ds, attr, want, n_features, what):
    got = k.attr(ds, attr)
    expect(K.is_plain_tensor(got), f"self.{attr} should be a torch.Tensor, got {K.type_name(got)}")
    expect(K.dtype_of(got) == "torch.float32" and K.shape_of(got) == (n_features,),
           f"self.{attr} should be a float32 tensor of shape ({n_features},), got {K.dtype_of(got)} {K.shape_of(got)}")
    expect(P.all_close(K.values(got), [float(v) for v in want], rtol=1e-5, atol=1e-5), what)


def _check_rows(k, ds, features, labels, mean, std, context, strict=False):
    want = _standardised(features, np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64))
    for i, (x, y) in _items(k, ds, range(len(features)), features.shape[1], strict=strict):
        expect(P.all_close(x, want[i], rtol=1e-4, atol=1e-4),
               f"{context}: ds[{i}][0] should be (row - mean) / std of row {i}")
        expect(y == int(labels[i]), f"{context}: ds[{i}][1] should be the row's target {int(labels[i])}, got {y}")


def _own(k, ds, attr):
    """The dataset's own statistic as a list of floats (its value is judged by the statistics check)."""
    value = k.attr(ds, attr)
    expect(K.is_plain_tensor(value), f"self.{attr} should be a torch.Tensor, got {K.type_name(value)}")
    return [float(v) for v in K.values(value)]


def statistics(k):
    for n_rows, n_features, seed in ((3, 4, 1), (40, 6, 2)):  # 3 rows: ddof=0 and ddof=1 differ by sqrt(3/2)
        path, features, labels, _ = _table(k, f"stats_{n_rows}.csv", n_rows, n_features, n_features, seed=seed)
        ds = k.new("MyTabularDataset", path)
        mean, std = features.mean(axis=0), features.std(axis=0)
        _check_stat(k, ds, "mean", mean, n_features, f"self.mean should be each feature column's mean ({n_rows}-row file)")
        sample_std = features.std(axis=0, ddof=1)
        got_std = k.attr(ds, "std")
        if K.is_plain_tensor(got_std) and P.all_close(K.values(got_std), sample_std.tolist(), rtol=1e-4, atol=1e-6):
            raise CheckFailed("self.std is the sample std (ddof=1); use the population std (ddof=0, unbiased=False), "
                              "as StandardScaler does")
        _check_stat(k, ds, "std", std, n_features, f"self.std should be each feature column's population std ({n_rows}-row file)")
        _check_rows(k, ds, features, labels, mean, std, f"{n_rows}-row file")


def given_statistics(k):
    train_path, _, _, _ = _table(k, "split_train.csv", 30, 5, 5, seed=3)
    test_path, test_x, test_y, _ = _table(k, "split_test.csv", 12, 5, 5, seed=4)
    train = k.new("MyTabularDataset", train_path)
    test = k.new("MyTabularDataset", test_path, mean=K.handle_attr(train, "mean"), std=K.handle_attr(train, "std"))
    own_mean = test_x.mean(axis=0)
    got_mean = k.attr(test, "mean")
    if K.is_plain_tensor(got_mean) and P.all_close(K.values(got_mean), own_mean.tolist(), rtol=1e-4, atol=1e-6):
        raise CheckFailed("given mean and std were ignored: the test split recomputed its own statistics "
                          "(use the mean and std passed in)")
    given_mean, given_std = _own(k, train, "mean"), _own(k, train, "std")  # whatever the training split computed
    _check_stat(k, test, "mean", given_mean, 5, "self.mean should be the mean passed in (the training split's)")
    _check_stat(k, test, "std", given_std, 5, "self.std should be the std passed in (the training split's)")
    _check_rows(k, test, test_x, test_y, given_mean, given_std, "test split with the training statistics")
    # The statistics may be given as Python lists, NumPy arrays or tensors (of any float dtype).
    mean_, std_ = np.arange(1.0, 6.0), np.full(5, 2.0)
    for given, what in (((mean_.tolist(), std_.tolist()), "lists"),
                        ((K.ndarray(mean_.tolist(), "float64"), K.ndarray(std_.tolist(), "float64")), "NumPy arrays"),
                        ((K.tensor(mean_.tolist(), "float64"), K.tensor(std_.tolist(), "float64")), "float64 tensors")):
        fixed = k.new("MyTabularDataset", test_path, mean=given[0], std=given[1])
        _check_stat(k, fixed, "mean", mean_, 5, f"self.mean should be the mean passed in (given as {what})")
        _check_stat(k, fixed, "std", std_, 5, f"self.std should be the std passed in (given as {what})")
        _check_rows(k, fixed, test_x, test_y, mean_, std_, f"mean=[1, ..., 5], std=[2, ...] given as {what}")


def constant_column(k):
    path, features, labels, _ = _table(k, "constant.csv", 10, 4, 4, seed=5, constant=2)
    ds = k.new("MyTabularDataset", path)
    for i, (x, _) in _items(k, ds, range(len(features)), 4, strict=False):
        expect(all(np.isfinite(v) for v in x), f"ds[{i}] has NaN or inf: a column whose std is 0 should be divided by 1")
        expect(abs(x[2]) <= 1e-6, f"a constant column should standardise to 0, got {x[2]!r} in ds[{i}]")
    std = K.values(k.attr(ds, "std"))
    expect(abs(std[2]) <= 1e-6 or abs(std[2] - 1.0) <= 1e-6, "self.std of a constant column should be 0 (or the 1 used instead)")
    _check_rows(k, ds, features, labels, features.mean(axis=0), _own(k, ds, "std"), "file with a constant column")
    # A constant column given as std=0 by the caller is divided by 1 as well.
    given = k.new("MyTabularDataset", path, mean=[0.0] * 4, std=[1.0, 1.0, 0.0, 1.0])
    x, _ = _item(k, given, 0, 4, "ds[0]", strict=False)
    expect(all(np.isfinite(v) for v in x), "a given std of 0 should also be replaced by 1 (no NaN or inf)")


def target_column(k):
    for at, name, seed in ((2, "label", 6), (0, "cultivar", 7)):
        path, features, labels, names = _table(k, f"target_{name}.csv", 15, 5, at, target_name=name, seed=seed)
        ds = k.new("MyTabularDataset", path, target_column=name)
        mean = features.mean(axis=0)
        expect(P.all_close(_own(k, ds, "mean"), mean.tolist(), rtol=1e-5, atol=1e-5),
               f"with target_column={name!r} at position {at}, the features are all the other columns in file order "
               f"(do not assume the target is last)")
        _check_rows(k, ds, features, labels, mean, _own(k, ds, "std"), f"target column {name!r} at position {at}")
    # A file whose targets are only 1 and 2 (a split without class 0): the targets are the file's own,
    # never renumbered per file (LabelEncoder().fit_transform on each file would make them 0 and 1).
    path, features, labels, _ = _table(k, "target_classes_1_2.csv", 12, 4, 4, seed=11, classes=(1, 2))
    ds = k.new("MyTabularDataset", path)
    got = [y for _, (_, y) in _items(k, ds, range(len(features)), 4, strict=False)]
    expect(got == [int(v) for v in labels],
           f"a file whose targets are only 1 and 2 should give the targets 1 and 2 as they are, got {sorted(set(got))}: "
           "use the target column's integers, never renumber them per file (a split may lack a class)")


def indexing(k):
    path, _, _, _ = _table(k, "index.csv", 9, 3, 3, seed=8)
    ds = k.new("MyTabularDataset", path)
    n = k.len(ds)
    expect(K.kind(n) == "int" and n.get("value") == 9,
           f"len(ds) should be the number of data rows (9), got {n.get('value', K.type_name(n))!r}")
    # Negative indices are compared with the dataset's own ds[row]: the values themselves are checked elsewhere.
    for idx, row in ((-1, 8), (-9, 0), (-4, 5)):
        want_x, want_y = _item(k, ds, row, 3, f"ds[{row}]")
        try:
            x, y = _item(k, ds, idx, 3, f"ds[{idx}]")
        except Raised as e:
            if not e.is_a("IndexError"):
                raise
            raise CheckFailed(f"ds[{idx}] on 9 rows should be ds[{row}] (negative indices count from the end, "
                              f"like a list's), but it raised IndexError") from None
        expect(P.all_close(x, want_x, rtol=0, atol=1e-6) and y == want_y,
               f"ds[{idx}] on 9 rows should be ds[{row}] (negative indices count from the end, like a list's)")
    for idx in (9, 100, -10):
        try:
            k.item(ds, idx)
        except Raised as e:
            if e.is_a("IndexError"):
                continue
            raise CheckFailed(f"ds[{idx}] on 9 rows should raise IndexError, got {e.type_name}") from None
        raise CheckFailed(f"ds[{idx}] on 9 rows should raise IndexError, but returned a value")


def errors(k):
    missing = k.path("no_such_file.csv")
    try:
        k.new("MyTabularDataset", missing)
    except Raised as e:
        if not e.is_a("FileNotFoundError"):
            raise CheckFailed(f"a missing file should raise FileNotFoundError, got {e.type_name}") from None
    else:
        raise CheckFailed("a missing file should raise FileNotFoundError, but the dataset was created")
    path, _, _, _ = _table(k, "no_target.csv", 5, 3, 3, target_name="target", seed=9)
    try:
        k.new("MyTabularDataset", path, target_column="quality_grade")
    except Raised as e:
        if not e.is_a("ValueError"):
            raise CheckFailed(f"a missing target column should raise ValueError, got {e.type_name}") from None
        expect("quality_grade" in e.message, f"the ValueError should name the missing column 'quality_grade', got: {e.message}")
    else:
        raise CheckFailed("a missing target column should raise ValueError naming the column, but the dataset was created")


def loader(k):
    path, _, _, _ = _table(k, "loader.csv", 10, 7, 3, seed=10)
    ds = k.new("MyTabularDataset", path)
    # Batches are compared with the dataset's own items: the values themselves are checked elsewhere.
    rows_seen = [item for _, item in _items(k, ds, range(10), 7)]
    want, labels = [x for x, _ in rows_seen], [y for _, y in rows_seen]
    sizes, rows = [], 0
    for batch in k.batches(ds, 4):
        pair = K.items(batch)
        expect(len(pair) == 2, f"a DataLoader batch should be a pair (x, y), got {len(pair)} elements")
        xb, yb = pair
        expect(K.is_plain_tensor(xb) and K.dtype_of(xb) == "torch.float32" and K.shape_of(xb)[1:] == (7,),
               f"a DataLoader batch of x should be float32 of shape (B, 7), got {K.dtype_of(xb)} {_shape_text(xb)}")
        expect(K.is_plain_tensor(yb) and K.dtype_of(yb) == "torch.int64" and len(K.shape_of(yb)) == 1,
               f"a DataLoader batch of y should be int64 of shape (B,), got {K.dtype_of(yb)} {_shape_text(yb)}")
        b = K.shape_of(xb)[0]
        expect(K.shape_of(yb) == (b,), "x and y batches should have the same batch size")
        expect(P.all_close(K.values(xb), want[rows:rows + b], rtol=0, atol=1e-6),
               "DataLoader batches of x should stack ds[i][0] of the rows in order")
        expect(K.values(yb) == labels[rows:rows + b], "DataLoader batches of y should stack ds[i][1] of the rows in order")
        sizes.append(b)
        rows += b
    expect(sizes == [4, 4, 2], f"10 rows in batches of 4 should give batch sizes [4, 4, 2], got {sizes}")


def _shape_text(d):
    return K.shape_of(d) if K.kind(d) == "tensor" else f"({K.type_name(d)})"


# The checks that are decided outside the kernel, by grade id (the grader sends their requests).
CHECKS = {
    "ex1_hidden_statistics": statistics,
    "ex1_hidden_given_statistics": given_statistics,
    "ex1_hidden_constant_column": constant_column,
    "ex1_hidden_target_column": target_column,
    "ex1_hidden_indexing": indexing,
    "ex1_hidden_errors": errors,
    "ex1_hidden_loader": loader,
}
