"""The catalogue of crafted submissions: correct variants and typical mistakes.

A correct variant replaces a whole solution cell with a genuinely different
implementation (signatures and docstrings as in the release) and must get
every autograded point (`loses=()`). A mistake is a small text replacement
in the reference answer, as a student would make it, and must lose points in
its own exercise and nowhere else (`loses=("ex1",)` etc.). Replacements fail
loudly when the source changes, so a sample cannot silently stop testing what
it claims to test.
"""

import functools

from .harness import Sample, pack

from .variants import EX1_CORRECT as EX1_VARIANTS
from .variants import EX2_CORRECT as EX2_VARIANTS
from .variants import EX4_CORRECT as EX4_VARIANTS

REFERENCE = Sample("reference", "the reference solution from source/", teaching=True)
# The same answers, run without the teaching cells: the reference beside other students in the suites
# that prove something else (the grader suite runs the whole reference).
REFERENCE_ANSWERS = Sample("reference", "the reference answers (teaching cells not run)")
UNTOUCHED = Sample("untouched_release", "the release notebook exactly as students get it", answered=False,
                   teaching=True)

FLAWED_DEMO = [
    Sample("ex1_sample_std", "Exercise 1: std with ddof=1 instead of the population std",
           {"ex1_solution": [("features.std(axis=0)", "features.std(axis=0, ddof=1)")]},
           loses=("ex1",), fails=("ex1_tests_wine", "ex1_hidden_statistics")),
    Sample("ex2_lr_after_step", "Exercise 2: learning rate recorded after stepping the scheduler",
           {"ex2_solution": [
               ('            h["lr"].append(float(optimizer.param_groups[0]["lr"]))\n', ""),
               ("                scheduler.step()\n",
                "                scheduler.step()\n            h[\"lr\"].append(float(optimizer.param_groups[0][\"lr\"]))\n"),
           ]}, loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr")),
    Sample("ex4_no_eval_mode", "Exercise 4: evaluation without model.eval()",
           {"ex4_solution": [("        model.eval()\n", "")]}, loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_eval_mode")),
]

DEMO = [REFERENCE, UNTOUCHED, *FLAWED_DEMO]


# ---------------------------------------------------------------------------
# Exercise 1: MyTabularDataset
# ---------------------------------------------------------------------------

EX1_TORCH_FLOAT32 = '''
class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        with open(csv_path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
        header, body = rows[0], rows[1:]
        if target_column not in header:
            raise ValueError(f"the CSV file has no column named {target_column!r}")
        t = header.index(target_column)
        feature_cols = [j for j in range(len(header)) if j != t]

        data = torch.tensor([[float(v) for v in row] for row in body])  # float32, torch's default
        features = data[:, feature_cols]
        self.y = data[:, t].round().to(torch.int64)

        self.mean = features.mean(dim=0) if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        self.std = features.std(dim=0, correction=0) if std is None else torch.as_tensor(std, dtype=torch.float32)
        safe_std = self.std.clone()
        safe_std[safe_std == 0] = 1.0
        self.X = (features - self.mean) / safe_std

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            idx += n
        if idx < 0 or idx >= n:
            raise IndexError(f"row {idx} does not exist: the dataset has {n} rows")
        return self.X[idx], self.y[idx]
'''

EX1_NUMPY_GENFROMTXT = '''
class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        with open(csv_path) as f:
            columns = f.readline().strip().split(",")
        if target_column not in columns:
            raise ValueError(f"{target_column!r} is not a column of {csv_path} (columns: {', '.join(columns)})")
        data = np.atleast_2d(np.genfromtxt(csv_path, delimiter=",", skip_header=1))
        is_target = np.array([name == target_column for name in columns])
        features = data[:, ~is_target]

        mu = features.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float64)
        sigma = np.std(features, axis=0) if std is None else np.asarray(std, dtype=np.float64)
        self.mean = torch.from_numpy(mu.astype(np.float32))
        self.std = torch.from_numpy(sigma.astype(np.float32))
        self._X = ((features - mu) / np.where(sigma == 0, 1.0, sigma)).astype(np.float32)
        self._y = data[:, is_target][:, 0].astype(np.int64)

    def __len__(self):
        return int(self._y.shape[0])

    def __getitem__(self, idx):
        if idx >= len(self) or idx < -len(self):
            raise IndexError("dataset index out of range")
        return torch.from_numpy(self._X[idx]), torch.tensor(self._y[idx], dtype=torch.long)
'''

EX1_DICTREADER_LAZY = '''
import statistics


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            if target_column not in (reader.fieldnames or []):
                raise ValueError(f"missing target column: {target_column}")
            self.feature_names = [name for name in reader.fieldnames if name != target_column]
            self.rows, self.labels = [], []
            for record in reader:
                self.rows.append([float(record[name]) for name in self.feature_names])
                self.labels.append(int(float(record[target_column])))

        columns = list(zip(*self.rows))
        if mean is None:
            mean = [statistics.fmean(col) for col in columns]
        if std is None:
            std = [statistics.pstdev(col) for col in columns]
        self.mean = torch.tensor([float(m) for m in mean], dtype=torch.float32)
        self.std = torch.tensor([float(s) for s in std], dtype=torch.float32)
        self._scale = torch.where(self.std > 0, self.std, torch.tensor(1.0))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        row, label = self.rows[idx], self.labels[idx]  # list indexing: negatives and IndexError for free
        x = (torch.tensor(row, dtype=torch.float32) - self.mean) / self._scale
        return x, torch.tensor(label, dtype=torch.int64)
'''

EX1_CORRECT = [
    Sample("ex1_torch_float32", "Exercise 1 (correct): csv.reader, float32 torch tensors, torch mean/std(correction=0)",
           {"ex1_solution": EX1_TORCH_FLOAT32}),
    Sample("ex1_numpy_genfromtxt", "Exercise 1 (correct): header via readline, np.genfromtxt, numpy statistics, "
           "numpy arrays turned into tensors per item",
           {"ex1_solution": EX1_NUMPY_GENFROMTXT}),
    Sample("ex1_dictreader_lazy", "Exercise 1 (correct): csv.DictReader into Python lists, statistics.pstdev, "
           "rows standardised lazily in __getitem__",
           {"ex1_solution": EX1_DICTREADER_LAZY}),
]

EX1_MISTAKES = [
    Sample("ex1_x_float64", "Exercise 1: features left float64 (torch.from_numpy of the float64 table)",
           {"ex1_solution": [("torch.as_tensor(features, dtype=torch.float32)", "torch.from_numpy(features)")]},
           loses=("ex1",), fails=("ex1_tests_wine", "ex1_hidden_indexing", "ex1_hidden_loader")),
    Sample("ex1_label_float", "Exercise 1: target returned as a float32 tensor instead of int64",
           {"ex1_solution": [("table[:, target_index], dtype=torch.int64)", "table[:, target_index], dtype=torch.float32)")]},
           loses=("ex1",), fails=("ex1_tests_wine", "ex1_hidden_indexing", "ex1_hidden_loader")),
    Sample("ex1_target_last", "Exercise 1: target column assumed to be the last column",
           {"ex1_solution": [("target_index = header.index(target_column)",
                              "target_index = len(header) - 1  # the target is the last column")]},
           loses=("ex1",), fails=("ex1_hidden_target_column",)),
    Sample("ex1_ignores_given_stats", "Exercise 1: given mean/std ignored, every file standardised with its own statistics",
           {"ex1_solution": [("features.mean(axis=0) if mean is None else mean", "features.mean(axis=0)"),
                             ("features.std(axis=0) if std is None else std", "features.std(axis=0)")]},
           loses=("ex1",), fails=("ex1_tests_wine", "ex1_hidden_given_statistics")),
    Sample("ex1_nan_constant_column", "Exercise 1: divides by a zero std (NaN for a constant column)",
           {"ex1_solution": [("scale = torch.where(self.std == 0, torch.ones_like(self.std), self.std)",
                              "scale = self.std")]},
           loses=("ex1",), fails=("ex1_hidden_constant_column",)),
    Sample("ex1_rejects_negative_index", "Exercise 1: negative indices raise IndexError instead of counting from the end",
           {"ex1_solution": [("if not -len(self) <= idx < len(self):", "if idx < 0 or idx >= len(self):")]},
           loses=("ex1",), fails=("ex1_hidden_indexing",)),
    Sample("ex1_wraps_index", "Exercise 1: index taken modulo len (out-of-range indices wrap instead of IndexError)",
           {"ex1_solution": [
               ("        if not -len(self) <= idx < len(self):\n"
                "            raise IndexError(f\"index {idx} is out of range for a dataset of {len(self)} rows\")\n",
                "        idx = idx % len(self)\n"),
           ]},
           loses=("ex1",), fails=("ex1_hidden_indexing",)),
    Sample("ex1_missing_column_keyerror", "Exercise 1: a missing target column raises KeyError, not ValueError",
           {"ex1_solution": [('raise ValueError(f"target column {target_column!r} not found in {csv_path}; columns: {header}")',
                              "raise KeyError(target_column)")]},
           loses=("ex1",), fails=("ex1_hidden_errors",)),
    Sample("ex1_missing_column_unnamed", "Exercise 1: the ValueError for a missing target column does not name the column",
           {"ex1_solution": [('raise ValueError(f"target column {target_column!r} not found in {csv_path}; columns: {header}")',
                              'raise ValueError("target column not found in the CSV header")')]},
           loses=("ex1",), fails=("ex1_hidden_errors",)),
]


# ---------------------------------------------------------------------------
# Exercise 2: compare_schedulers
# ---------------------------------------------------------------------------

EX2_GET_LAST_LR = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    results = {}
    for name in ["constant", "cosine"]:
        torch.manual_seed(seed)
        model = make_model()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        if name == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=0.0)
        else:
            scheduler = None
        history = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(epochs):
            current_lr = scheduler.get_last_lr()[0] if scheduler is not None else lr
            train_loss, _train_acc = train_epoch(model, train_loader, criterion, optimizer)
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            if scheduler is not None:
                scheduler.step()
            history["lr"].append(float(current_lr))
            history["train_loss"].append(float(train_loss))
            history["test_loss"].append(float(test_loss))
            history["test_acc"].append(float(test_acc))
        results[name] = history
    return results
'''

EX2_HELPER_PARAM_GROUPS = '''
_KEYS = ("lr", "train_loss", "test_loss", "test_acc")


def _one_run(make_model, train_loader, test_loader, epochs, lr, seed, cosine):
    torch.manual_seed(seed)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs) if cosine else None
    records = []
    for epoch in range(epochs):
        lr_now = [group["lr"] for group in optimizer.param_groups][0]
        train_loss, _ = train_epoch(model, train_loader, criterion, optimizer)
        test_loss, test_acc = evaluate(model, test_loader, criterion)
        records.append((lr_now, train_loss, test_loss, test_acc))
        if cosine:
            scheduler.step()
    return {key: [float(r[i]) for r in records] for i, key in enumerate(_KEYS)}


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    return {
        "constant": _one_run(make_model, train_loader, test_loader, epochs, lr, seed, cosine=False),
        "cosine": _one_run(make_model, train_loader, test_loader, epochs, lr, seed, cosine=True),
    }
'''

EX2_LAMBDA_CONSTANT = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    schedules = {
        "constant": lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda epoch: 1.0),
        "cosine": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs),
    }
    out = {}
    for name, make_scheduler in schedules.items():
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        scheduler = make_scheduler(optimizer)
        loss_fn = nn.CrossEntropyLoss()
        lrs, train_losses, test_losses, test_accs = [], [], [], []
        for _ in range(epochs):
            lrs.append(scheduler.get_last_lr()[0])
            tr_loss, _ = train_epoch(model, train_loader, loss_fn, optimizer)
            te_loss, te_acc = evaluate(model, test_loader, loss_fn)
            train_losses.append(tr_loss)
            test_losses.append(te_loss)
            test_accs.append(te_acc)
            scheduler.step()
        out[name] = {"lr": lrs, "train_loss": train_losses, "test_loss": test_losses, "test_acc": test_accs}
    return out
'''

EX2_CORRECT = [
    Sample("ex2_get_last_lr", "Exercise 2 (correct): if/else scheduler, lr read with scheduler.get_last_lr() before "
           "the epoch, the lr argument for the constant run",
           {"ex2_solution": EX2_GET_LAST_LR}),
    Sample("ex2_helper_param_groups", "Exercise 2 (correct): one private helper per run, lr from param_groups, "
           "records collected as tuples",
           {"ex2_solution": EX2_HELPER_PARAM_GROUPS}),
    Sample("ex2_lambda_constant", "Exercise 2 (correct): a scheduler for both runs (LambdaLR factor 1 for the "
           "constant run), stepped every epoch",
           {"ex2_solution": EX2_LAMBDA_CONSTANT}),
]

EX2_MISTAKES = [
    Sample("ex2_tmax_hardcoded", "Exercise 2: CosineAnnealingLR with T_max=50 hard-coded instead of epochs",
           {"ex2_solution": [("T_max=epochs", "T_max=50")]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr", "ex2_hidden_cosine")),
    Sample("ex2_eta_min", "Exercise 2: cosine annealing to eta_min=1e-6 instead of 0",
           {"ex2_solution": [("T_max=epochs)", "T_max=epochs, eta_min=1e-6)")]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr", "ex2_hidden_cosine")),
    Sample("ex2_seed_once", "Exercise 2: torch.manual_seed(seed) called once before both runs, not before each",
           {"ex2_solution": [("        torch.manual_seed(seed)\n", ""),
                             ("    histories = {}\n", "    histories = {}\n    torch.manual_seed(seed)\n")]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_cosine", "ex2_hidden_arguments")),
    Sample("ex2_shared_model", "Exercise 2: one model for both runs (the cosine run continues the constant run's model)",
           {"ex2_solution": [("        torch.manual_seed(seed)\n        model = make_model()\n", ""),
                             ("    histories = {}\n",
                              "    histories = {}\n    torch.manual_seed(seed)\n    model = make_model()\n")]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_cosine", "ex2_hidden_arguments")),
    Sample("ex2_lr_ignored", "Exercise 2: the lr argument ignored (Adam's default 1e-3 is used)",
           {"ex2_solution": [("torch.optim.Adam(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters())")]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr", "ex2_hidden_constant",
                                   "ex2_hidden_cosine", "ex2_hidden_arguments")),
    Sample("ex2_step_per_batch", "Exercise 2: own training loop that steps the scheduler after every batch",
           {"ex2_solution": [
               ("            train_loss, _ = train_epoch(model, train_loader, criterion, optimizer)\n",
                "            model.train()\n"
                "            batch_losses = []\n"
                "            for batch_x, batch_y in train_loader:\n"
                "                loss = criterion(model(batch_x), batch_y)\n"
                "                optimizer.zero_grad()\n"
                "                loss.backward()\n"
                "                optimizer.step()\n"
                "                if scheduler is not None:\n"
                "                    scheduler.step()\n"
                "                batch_losses.append(loss.item())\n"
                "            train_loss = sum(batch_losses) / len(batch_losses)\n"),
               ("            if scheduler is not None:\n                scheduler.step()\n        histories", "        histories"),
           ]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr", "ex2_hidden_cosine")),
    Sample("ex2_lr_as_list", "Exercise 2: cosine lr recorded as scheduler.get_last_lr() (a list, not a float)",
           {"ex2_solution": [('h["lr"].append(float(optimizer.param_groups[0]["lr"]))',
                              'h["lr"].append(scheduler.get_last_lr() if scheduler is not None else lr)')]},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr")),
    Sample("ex2_history_tensors", "Exercise 2: histories turned into tensors instead of lists of floats",
           {"ex2_solution": [("        histories[name] = h\n",
                              "        histories[name] = {key: torch.tensor(values) for key, values in h.items()}\n")]},
           loses=("ex2",), fails=("ex2_tests_structure",)),
]


# ---------------------------------------------------------------------------
# Exercise 4: get_device and fit
# ---------------------------------------------------------------------------

EX4_LOOP_REUSES_CELL4 = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    for name, available in (("cuda", torch.cuda.is_available), ("mps", torch.backends.mps.is_available)):
        if available():
            return torch.device(name)
    return torch.device("cpu")


class _OnDevice:
    """A loader whose batches are moved to `device` as they are yielded."""

    def __init__(self, loader, device):
        self.loader, self.device = loader, device

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch_x, batch_y in self.loader:
            yield batch_x.to(self.device), batch_y.to(self.device)


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model.to(device)
    train_batches, test_batches = _OnDevice(train_loader, device), _OnDevice(test_loader, device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for _ in range(epochs):
        train_loss, _ = train_epoch(model, train_batches, criterion, optimizer)
        test_loss, test_acc = evaluate(model, test_batches, criterion)
        history["train_loss"].append(train_loss)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    return history
'''

EX4_TERNARY_INLINE = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    return torch.device("cuda" if torch.cuda.is_available()
                        else "mps" if torch.backends.mps.is_available()
                        else "cpu")


@torch.no_grad()
def _evaluate_on(model, loader, criterion, device):
    model.eval()
    losses, correct, total = [], 0, 0
    for inputs, targets in loader:
        inputs = inputs.to(device=device, non_blocking=True)
        targets = targets.to(device=device, non_blocking=True)
        logits = model(inputs)
        losses.append(criterion(logits, targets).item())
        correct += int((logits.argmax(1) == targets).float().sum().item())
        total += len(targets)
    return sum(losses) / len(losses), correct / total


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    device = torch.device(device)
    model = model.to(device)
    train_losses, test_losses, test_accs = [], [], []
    for epoch in range(epochs):
        model.train()
        losses = []
        for inputs, targets in train_loader:
            inputs = inputs.to(device=device, non_blocking=True)
            targets = targets.to(device=device, non_blocking=True)
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        train_losses.append(sum(losses) / len(losses))
        test_loss, test_acc = _evaluate_on(model, test_loader, criterion, device)
        test_losses.append(test_loss)
        test_accs.append(test_acc)
    return {"train_loss": train_losses, "test_loss": test_losses, "test_acc": test_accs}
'''

EX4_SHARED_EPOCH_HELPER = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    name = "cpu"
    if torch.cuda.is_available():
        name = "cuda"
    elif torch.backends.mps.is_available():
        name = "mps"
    return torch.device(name)


def _run_epoch(model, loader, criterion, device, optimizer=None):
    """One pass over `loader`: training when an optimizer is given, else evaluation."""
    training = optimizer is not None
    model.train(training)
    total_loss, n_correct, n_seen = 0.0, 0, 0
    with torch.set_grad_enabled(training):
        for batch in loader:
            x, y = (t.to(device) for t in batch)
            out = model(x)
            loss = criterion(out, y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total_loss += float(loss.detach())
            n_correct += (out.argmax(dim=-1) == y).sum().item()
            n_seen += y.shape[0]
    return total_loss / len(loader), n_correct / n_seen


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model.to(device)
    history = {key: [] for key in ("train_loss", "test_loss", "test_acc")}
    for _ in range(epochs):
        train_loss, _ = _run_epoch(model, train_loader, criterion, device, optimizer)
        test_loss, test_acc = _run_epoch(model, test_loader, criterion, device)
        history["train_loss"].append(train_loss)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    return history
'''

_EVAL_WITH_NO_GRAD = '''        with torch.no_grad():
            for batch_x, batch_y in test_loader:
                batch_x, batch_y = batch_x.to(device), batch_y.to(device)
                outputs = model(batch_x)
                test_loss += criterion(outputs, batch_y).item()
                correct += (outputs.argmax(dim=1) == batch_y).sum().item()
                seen += batch_y.size(0)
'''
_EVAL_WITHOUT_NO_GRAD = '''        for batch_x, batch_y in test_loader:
            batch_x, batch_y = batch_x.to(device), batch_y.to(device)
            outputs = model(batch_x)
            test_loss += criterion(outputs, batch_y).item()
            correct += (outputs.argmax(dim=1) == batch_y).sum().item()
            seen += batch_y.size(0)
'''
_MOVE_BATCH = "batch_x, batch_y = batch_x.to(device), batch_y.to(device)"

EX4_CORRECT = [
    Sample("ex4_loop_reuses_cell4", "Exercise 4 (correct): get_device loops over (name, check) pairs; fit reuses "
           "Cell 4's train_epoch/evaluate on a loader wrapper that moves each batch",
           {"ex4_solution": EX4_LOOP_REUSES_CELL4}),
    Sample("ex4_ternary_inline", "Exercise 4 (correct): get_device as one conditional expression; inline training "
           "loop, evaluation in a @torch.no_grad() helper, .to(device=..., non_blocking=True)",
           {"ex4_solution": EX4_TERNARY_INLINE}),
    Sample("ex4_shared_epoch_helper", "Exercise 4 (correct): get_device with if/elif; one helper for both passes "
           "using model.train(flag) and torch.set_grad_enabled(flag)",
           {"ex4_solution": EX4_SHARED_EPOCH_HELPER}),
]

EX4_MISTAKES = [
    Sample("ex4_cuda_hardcoded", "Exercise 4: .cuda() hard-coded for the model and the batches",
           {"ex4_solution": [("    model.to(device)\n", "    model.cuda()\n"),
                             (_MOVE_BATCH, "batch_x, batch_y = batch_x.cuda(), batch_y.cuda()", 2)]},
           loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_moves_to_device", "ex4_hidden_eval_mode",
                                   "ex4_hidden_metrics")),
    Sample("ex4_model_not_moved", "Exercise 4: the model is never moved to the device",
           {"ex4_solution": [("    model.to(device)\n", "")]}, loses=("ex4",), fails=("ex4_hidden_moves_to_device",)),
    Sample("ex4_batches_not_moved", "Exercise 4: the batches are never moved to the device",
           {"ex4_solution": [("\n            " + _MOVE_BATCH, ""), ("\n                " + _MOVE_BATCH, "")]},
           loses=("ex4",), fails=("ex4_hidden_moves_to_device",)),
    Sample("ex4_targets_not_moved", "Exercise 4: only the inputs are moved to the device, not the targets",
           {"ex4_solution": [(_MOVE_BATCH, "batch_x = batch_x.to(device)", 2)]},
           loses=("ex4",), fails=("ex4_hidden_moves_to_device",)),
    Sample("ex4_no_no_grad", "Exercise 4: evaluation without torch.no_grad()",
           {"ex4_solution": [(_EVAL_WITH_NO_GRAD, _EVAL_WITHOUT_NO_GRAD)]},
           loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_eval_mode")),
    Sample("ex4_train_mode_once", "Exercise 4: model.train() called once before the loop, not in every epoch",
           {"ex4_solution": [("        model.train()\n", ""),
                             ("    model.to(device)\n", "    model.to(device)\n    model.train()\n")]},
           loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_eval_mode")),
    Sample("ex4_loss_tensor", "Exercise 4: training loss accumulated as a tensor (no .item())",
           {"ex4_solution": [("total_loss += loss.item()", "total_loss += loss")]},
           loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_metrics")),
    Sample("ex4_acc_batch_mean", "Exercise 4: test accuracy averaged over batches instead of over samples",
           {"ex4_solution": [("correct += (outputs.argmax(dim=1) == batch_y).sum().item()",
                              "correct += (outputs.argmax(dim=1) == batch_y).float().mean().item()"),
                             ("seen += batch_y.size(0)", "seen += 1")]},
           loses=("ex4",), fails=("ex4_hidden_metrics",)),
    Sample("ex4_calls_get_device", "Exercise 4: fit calls get_device() itself instead of using its device argument",
           {"ex4_solution": [("    model.to(device)\n",
                              "    device = get_device()  # always train on the best device there is\n    model.to(device)\n")]},
           loses=("ex4",), fails=("ex4_hidden_moves_to_device",)),
    Sample("ex4_device_order", "Exercise 4: get_device checks mps before cuda",
           {"ex4_solution": [
               ('    if torch.cuda.is_available():\n        return torch.device("cuda")\n'
                '    if torch.backends.mps.is_available():\n        return torch.device("mps")\n',
                '    if torch.backends.mps.is_available():\n        return torch.device("mps")\n'
                '    if torch.cuda.is_available():\n        return torch.device("cuda")\n'),
           ]},
           loses=("ex4",), fails=("ex4_hidden_get_device",)),
    Sample("ex4_device_string", "Exercise 4: get_device returns a string instead of a torch.device",
           {"ex4_solution": [('return torch.device("cuda")', 'return "cuda"'),
                             ('return torch.device("mps")', 'return "mps"'),
                             ('return torch.device("cpu")', 'return "cpu"')]},
           loses=("ex4",), fails=("ex4_tests_basic", "ex4_hidden_get_device")),
]


from .cell4 import MISTAKES as CELL4_MISTAKES  # noqa: E402  (Cell 4's visible tests, each mistake caught)
from .public import CORRECT as PUBLIC_CORRECT  # noqa: E402  (adapted from public PyTorch code, issue 19)
from .public import MISTAKES as PUBLIC_MISTAKES  # noqa: E402

ALL = [
    *DEMO,
    *CELL4_MISTAKES,
    *PUBLIC_CORRECT, *PUBLIC_MISTAKES,
    *EX1_CORRECT, *EX1_VARIANTS, *EX1_MISTAKES,
    *EX2_CORRECT, *EX2_VARIANTS, *EX2_MISTAKES,
    *EX4_CORRECT, *EX4_VARIANTS, *EX4_MISTAKES,
]


@functools.cache
def packed() -> tuple[Sample, ...]:
    """ALL as the grader suite grades it: in as few notebooks as keep every claim (harness.pack)."""
    from coursetools import RELEASE_NB, SOURCE_NB
    from coursetools import notebooks as nbs

    return tuple(pack(ALL, nbs.read(RELEASE_NB), nbs.read(SOURCE_NB)))
