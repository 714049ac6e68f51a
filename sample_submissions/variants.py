"""More correct answers, written the ways real students write them (issue 9, items 4 and 7).

Each replaces a whole solution cell (signature and docstring as in the
release) and must get every autograded point (`loses=()`). They use the
idioms the contract (COURSE_SPEC.md) explicitly allows: pandas, mean/std
given as lists, arrays or tensors, dict subclasses as histories, extra
passes over the training loader to log training accuracy, printing, other
schedulers that keep the rate constant, other device queries and other ways
to move a tensor. A hidden check that fails one of these is unfair to
correct code.
"""

from .harness import Sample

# ---------------------------------------------------------------------------
# Exercise 1: MyTabularDataset
# ---------------------------------------------------------------------------

EX1_PANDAS_TO_NUMPY = '''
import pandas as pd


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        df = pd.read_csv(csv_path)
        if target_column not in df.columns:
            raise ValueError(f"column '{target_column}' is not in {csv_path}")
        features = df.drop(columns=[target_column])
        if mean is None:
            mean = features.mean().to_numpy()
        if std is None:
            std = features.std(ddof=0).to_numpy()
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)
        std_safe = self.std.clone()
        std_safe[std_safe == 0] = 1
        x = torch.from_numpy(features.to_numpy(dtype=np.float32))
        self.features = (x - self.mean) / std_safe
        self.targets = torch.from_numpy(df[target_column].to_numpy()).long()

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        if idx < 0:
            idx = len(self) + idx
        if idx < 0 or idx >= len(self):
            raise IndexError("index out of range")
        return self.features[idx], self.targets[idx]
'''

EX1_PANDAS_VALUES_TENSOR_INDEXING = '''
import pandas as pd


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        df = pd.read_csv(csv_path)
        if target_column not in df:
            raise ValueError("target column not found: " + str(target_column))
        feature_df = df.loc[:, [c for c in df.columns if c != target_column]]
        X = torch.tensor(feature_df.values, dtype=torch.float64)
        if mean is None:
            self.mean = X.mean(dim=0).float()
        else:
            self.mean = torch.tensor(np.asarray(mean), dtype=torch.float32)
        if std is None:
            self.std = X.std(dim=0, unbiased=False).float()
        else:
            self.std = torch.tensor(np.asarray(std), dtype=torch.float32)
        denominator = torch.where(self.std == 0, torch.tensor(1.0), self.std).double()
        self.X = ((X - self.mean.double()) / denominator).float()
        self.y = torch.tensor(df[target_column].values, dtype=torch.long)

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, idx):
        # tensor indexing counts negative indices from the end and raises IndexError when out of range
        return self.X[idx], self.y[idx]
'''

EX1_LOADTXT_CLONE_FLOAT = '''
class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        with open(csv_path) as f:
            header = next(csv.reader(f))
        if target_column not in header:
            raise ValueError(f"no column called {target_column} in the file")
        data = np.loadtxt(csv_path, delimiter=",", skiprows=1)
        data = data.reshape(-1, len(header))
        t = header.index(target_column)
        feats = torch.from_numpy(data[:, [j for j in range(len(header)) if j != t]]).float()
        labels = torch.from_numpy(data[:, t]).long()

        def as_float_tensor(v):
            if isinstance(v, torch.Tensor):
                return v.clone().float()
            return torch.tensor(v, dtype=torch.float32)

        self.mean = feats.double().mean(0).float() if mean is None else as_float_tensor(mean)
        self.std = feats.double().std(0, correction=0).float() if std is None else as_float_tensor(std)
        self.data = [((row - self.mean) / torch.where(self.std == 0, 1.0, self.std), label)
                     for row, label in zip(feats, labels)]

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]  # a list: negative indices and IndexError work like any list
'''

EX1_TENSORDATASET_INSIDE = '''
class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        with open(csv_path, "r") as f:
            reader = csv.reader(f)
            columns = next(reader)
            values = [[float(v) for v in line] for line in reader if len(line) > 0]
        if target_column not in columns:
            raise ValueError(f"{target_column} is not one of the columns {columns}")
        target_idx = columns.index(target_column)
        table = torch.tensor(values, dtype=torch.float64)
        keep = [i for i in range(len(columns)) if i != target_idx]
        X = table[:, keep]
        y = table[:, target_idx].to(torch.int64)

        if mean is None:
            mean = X.mean(dim=0)
        if std is None:
            std = X.std(dim=0, unbiased=False)
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)
        std_no_zero = self.std.masked_fill(self.std == 0, 1.0)
        X = (X.float() - self.mean) / std_no_zero
        self.dataset = TensorDataset(X, y)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        return self.dataset[idx]
'''

EX1_PANDAS_ILOC_LAZY_LOGGING = '''
import logging

import pandas as pd

logger = logging.getLogger("week13.ex1")


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        print(f"Loading {csv_path} ...")
        self.df = pd.read_csv(csv_path)
        print(f"  {self.df.shape[0]} rows, {self.df.shape[1]} columns: {list(self.df.columns)}")
        if target_column not in self.df.columns:
            logger.error("missing target column %s", target_column)
            raise ValueError(f"The target column '{target_column}' does not exist")
        self.target_column = target_column
        self.feature_columns = [c for c in self.df.columns if c != target_column]
        features = self.df[self.feature_columns].to_numpy(dtype=np.float64)
        if mean is None:
            mean = features.mean(axis=0)
        if std is None:
            std = np.std(features, axis=0)
        if isinstance(mean, torch.Tensor):
            mean = mean.detach().cpu().numpy()
        if isinstance(std, torch.Tensor):
            std = std.detach().cpu().numpy()
        self.mean = torch.tensor(np.asarray(mean, dtype=np.float32))
        self.std = torch.tensor(np.asarray(std, dtype=np.float32))
        logger.info("mean=%s std=%s", self.mean.tolist(), self.std.tolist())
        print("  mean:", self.mean.numpy().round(3))
        print("  std: ", self.std.numpy().round(3))

    def __len__(self):
        return len(self.df)

    def __getitem__(self, idx):
        row = self.df.iloc[idx]  # positional: negatives count from the end, IndexError when out of bounds
        x = torch.tensor(row[self.feature_columns].to_numpy(dtype=np.float32))
        std = torch.where(self.std == 0, torch.ones_like(self.std), self.std)
        x = (x - self.mean) / std
        y = torch.tensor(int(row[self.target_column]), dtype=torch.int64)
        return x, y
'''

EX1_CORRECT = [
    Sample("ex1_pandas_to_numpy", "Exercise 1 (correct): pd.read_csv, df.drop(columns=...), .to_numpy(), "
           "std(ddof=0), torch.as_tensor(mean, dtype=torch.float32), explicit index checks",
           {"ex1_solution": EX1_PANDAS_TO_NUMPY}),
    Sample("ex1_pandas_values_tensor_indexing", "Exercise 1 (correct): pandas, torch.tensor(df.values), "
           "torch.tensor(np.asarray(mean)), __getitem__ relies on tensor indexing for negatives and IndexError",
           {"ex1_solution": EX1_PANDAS_VALUES_TENSOR_INDEXING}),
    Sample("ex1_loadtxt_clone_float", "Exercise 1 (correct): header via csv, np.loadtxt, mean.clone().float() "
           "when given a tensor, a list of precomputed (x, y) pairs",
           {"ex1_solution": EX1_LOADTXT_CLONE_FLOAT}),
    Sample("ex1_tensordataset_inside", "Exercise 1 (correct): csv.reader into float64 tensors, the standardised "
           "data kept in a TensorDataset that __getitem__ indexes",
           {"ex1_solution": EX1_TENSORDATASET_INSIDE}),
    Sample("ex1_pandas_iloc_lazy_logging", "Exercise 1 (correct): prints and logs in __init__, keeps the "
           "DataFrame and standardises lazily in __getitem__ via df.iloc",
           {"ex1_solution": EX1_PANDAS_ILOC_LAZY_LOGGING}),
]


# ---------------------------------------------------------------------------
# Exercise 2: compare_schedulers
# ---------------------------------------------------------------------------

EX2_DEFAULTDICT_TRAIN_ACC = '''
from collections import defaultdict


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    results = {}
    for run in ["constant", "cosine"]:
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        criterion = nn.CrossEntropyLoss()
        scheduler = None
        if run == "cosine":
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        history = defaultdict(list)
        for epoch in range(epochs):
            history["lr"].append(optimizer.param_groups[0]["lr"])
            train_loss, _ = train_epoch(model, train_loader, criterion, optimizer)
            _, train_acc = evaluate(model, train_loader, criterion)  # accuracy on the training set, for the log
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            history["train_loss"].append(train_loss)
            history["train_acc"].append(train_acc)
            history["test_loss"].append(test_loss)
            history["test_acc"].append(test_acc)
            if scheduler is not None:
                scheduler.step()
        results[run] = history
    return results
'''

EX2_ORDEREDDICT_CONSTANTLR_PRINT = '''
from collections import OrderedDict


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    results = OrderedDict()
    for name in ("constant", "cosine"):
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        criterion = nn.CrossEntropyLoss()
        if name == "constant":
            scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=epochs)
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=0)
        history = OrderedDict(lr=[], train_loss=[], test_loss=[], test_acc=[])
        for epoch in range(1, epochs + 1):
            current_lr = scheduler.get_last_lr()[0]
            train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer)
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            scheduler.step()
            history["lr"].append(current_lr)
            history["train_loss"].append(train_loss)
            history["test_loss"].append(test_loss)
            history["test_acc"].append(test_acc)
            print(f"[{name}] epoch {epoch:3d}/{epochs}  lr={current_lr:.2e}  train_loss={train_loss:.4f}  "
                  f"train_acc={train_acc:.3f}  test_loss={test_loss:.4f}  test_acc={test_acc:.3f}")
        results[name] = history
    return results
'''

EX2_DICT_COMPREHENSION_LAMBDALR = '''
def _train_with_schedule(make_model, train_loader, test_loader, epochs, lr, seed, schedule):
    torch.manual_seed(seed)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)
    criterion = nn.CrossEntropyLoss()
    lrs, train_losses, test_losses, test_accs = [], [], [], []
    for epoch in range(epochs):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        loss, _ = train_epoch(model, train_loader, criterion, optimizer)
        train_losses.append(loss)
        loss, acc = evaluate(model, test_loader, criterion)
        test_losses.append(loss)
        test_accs.append(acc)
        scheduler.step()
    return {"lr": lrs, "train_loss": train_losses, "test_loss": test_losses, "test_acc": test_accs}


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    return {schedule: _train_with_schedule(make_model, train_loader, test_loader, epochs, lr, seed, schedule)
            for schedule in ("constant", "cosine")}
'''

EX2_TRAIN_ACC_PRINT_GET_LAST_LR = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    out = {}
    for use_cosine in (False, True):
        name = "cosine" if use_cosine else "constant"
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if use_cosine else None
        h = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(epochs):
            lr_now = sched.get_last_lr()[0] if use_cosine else optimizer.param_groups[0]["lr"]
            tr_loss, _ = train_epoch(model, train_loader, loss_fn, optimizer)
            # how well does it fit the training data? (an extra pass, only for the printout)
            _, tr_acc = evaluate(model, train_loader, loss_fn)
            te_loss, te_acc = evaluate(model, test_loader, loss_fn)
            if sched:
                sched.step()
            h["lr"].append(lr_now)
            h["train_loss"].append(tr_loss)
            h["test_loss"].append(te_loss)
            h["test_acc"].append(te_acc)
            print(name, epoch + 1, "lr", lr_now, "train acc", round(tr_acc, 3), "test acc", round(te_acc, 3))
        out[name] = h
    return out
'''

EX2_SCHEDULER_FACTORIES_CONSTANTLR = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    make_scheduler = {
        "constant": lambda opt: torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0),
        "cosine": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.0),
    }
    histories = dict()
    for name, factory in make_scheduler.items():
        torch.manual_seed(seed)
        net = make_model()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = factory(opt)
        crit = nn.CrossEntropyLoss()
        histories[name] = {k: [] for k in ("lr", "train_loss", "test_loss", "test_acc")}
        epoch = 0
        while epoch < epochs:
            histories[name]["lr"].append(opt.param_groups[0]["lr"])
            train_loss, train_acc = train_epoch(net, train_loader, crit, opt)
            test_loss, test_acc = evaluate(net, test_loader, crit)
            for key, value in zip(("train_loss", "test_loss", "test_acc"), (train_loss, test_loss, test_acc)):
                histories[name][key].append(float(value))
            sched.step()
            epoch += 1
            if epoch % 10 == 0 or epoch == epochs:
                print(f"{name}: epoch {epoch}, test acc {test_acc:.3f}")
    return histories
'''

EX2_CORRECT = [
    Sample("ex2_defaultdict_train_acc", "Exercise 2 (correct): each history a collections.defaultdict(list), "
           "an extra evaluate(model, train_loader, criterion) per epoch to record training accuracy (extra key)",
           {"ex2_solution": EX2_DEFAULTDICT_TRAIN_ACC}),
    Sample("ex2_ordereddict_constantlr_print", "Exercise 2 (correct): OrderedDict results and histories, "
           "ConstantLR(factor=1.0) for the constant run, lr from scheduler.get_last_lr()[0], a line printed per epoch",
           {"ex2_solution": EX2_ORDEREDDICT_CONSTANTLR_PRINT}),
    Sample("ex2_dict_comprehension_lambdalr", "Exercise 2 (correct): results built with a dict comprehension "
           "over a private helper, LambdaLR(lambda epoch: 1.0) for the constant run, lr from param_groups",
           {"ex2_solution": EX2_DICT_COMPREHENSION_LAMBDALR}),
    Sample("ex2_train_acc_print_get_last_lr", "Exercise 2 (correct): lr from scheduler.get_last_lr()[0] (cosine) "
           "or param_groups (constant), an extra pass over the shuffled train loader each epoch, printing progress",
           {"ex2_solution": EX2_TRAIN_ACC_PRINT_GET_LAST_LR}),
    Sample("ex2_scheduler_factories_constantlr", "Exercise 2 (correct): a dict of scheduler factories "
           "(ConstantLR(factor=1.0) and cosine), a while loop, printing every 10 epochs",
           {"ex2_solution": EX2_SCHEDULER_FACTORIES_CONSTANTLR}),
]


# ---------------------------------------------------------------------------
# Exercise 4: get_device and fit
# ---------------------------------------------------------------------------

EX4_MPS_BUILT_AS_TENSOR = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    elif torch.backends.mps.is_built() and torch.backends.mps.is_available():
        return torch.device("mps")
    else:
        return torch.device("cpu")


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    device = torch.device(device)
    model = model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb = torch.as_tensor(xb, device=device)
            yb = torch.as_tensor(yb, device=device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item()
        history["train_loss"].append(running / len(train_loader))

        model.eval()
        running, correct = 0.0, 0
        with torch.no_grad():
            for xb, yb in test_loader:
                xb = torch.as_tensor(xb, device=device)
                yb = torch.as_tensor(yb, device=device)
                logits = model(xb)
                running += criterion(logits, yb).item()
                correct += (logits.argmax(1) == yb).sum().item()
        history["test_loss"].append(running / len(test_loader))
        history["test_acc"].append(correct / len(test_loader.dataset))
    return history
'''

EX4_ACCELERATOR_NON_BLOCKING = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    if torch.accelerator.is_available():
        accelerator = torch.accelerator.current_accelerator()
        if accelerator is not None and accelerator.type in ("cuda", "mps"):
            return torch.device(accelerator.type)
    return torch.device("cpu")


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        model.train()
        losses = []
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history["train_loss"].append(sum(losses) / len(losses))

        model.eval()
        losses, correct, total = [], 0, 0
        with torch.no_grad():
            for x, y in test_loader:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                out = model(x)
                losses.append(criterion(out, y).item())
                correct += (out.argmax(dim=1) == y).sum().item()
                total += y.numel()
        history["test_loss"].append(sum(losses) / len(losses))
        history["test_acc"].append(correct / total)
    return history
'''

EX4_DEVICE_COUNT_VIEW_SAMPLER = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    if torch.cuda.device_count() > 0:
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model = model.to(device)
    train_losses, test_losses, test_accs = [], [], []
    for epoch in range(epochs):
        model.train()
        epoch_loss = 0.0
        for x, y in train_loader:
            x = x.to(device).view(x.size(0), -1)  # flatten each sample after the move
            y = y.to(device)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        train_losses.append(epoch_loss / len(train_loader))

        model.eval()
        epoch_loss, n_correct = 0.0, 0
        with torch.no_grad():
            for x, y in test_loader:
                x = x.to(device).view(x.size(0), -1)
                y = y.to(device)
                scores = model(x)
                epoch_loss += criterion(scores, y).item()
                n_correct += int((scores.argmax(dim=1) == y).sum())
        test_losses.append(epoch_loss / len(test_loader))
        test_accs.append(n_correct / len(test_loader.sampler))
    return {"train_loss": train_losses, "test_loss": test_losses, "test_acc": test_accs}
'''

EX4_TRAIN_ACC_PASS = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    device = "cpu"
    if torch.cuda.is_available():
        device = "cuda"
    elif torch.backends.mps.is_built() and torch.backends.mps.is_available():
        device = "mps"
    return torch.device(device)


def _accuracy_and_loss(model, loader, criterion, device):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            outputs = model(inputs)
            total_loss += criterion(outputs, labels).item()
            correct += (outputs.argmax(1) == labels).sum().item()
    return total_loss / len(loader), correct / len(loader.dataset)


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    device = torch.device(device)
    model = model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        model.train()
        batch_losses = []
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        # training accuracy with the weights at the end of the epoch: an extra pass, for the log only
        _, train_acc = _accuracy_and_loss(model, train_loader, criterion, device)
        test_loss, test_acc = _accuracy_and_loss(model, test_loader, criterion, device)
        history["train_loss"].append(sum(batch_losses) / len(batch_losses))
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        print(f"epoch {epoch + 1}/{epochs}: train acc {train_acc:.3f}, test acc {test_acc:.3f}")
    return history
'''

EX4_TRAINER_HELPERS_SAMPLER = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return torch.device("cuda" if torch.cuda.device_count() > 0 else ("mps" if has_mps else "cpu"))


def _to_device(batch, device):
    return tuple(t.to(device, non_blocking=True) for t in batch)


def _train_one_epoch(model, loader, criterion, optimizer, device):
    model.train()
    total = 0.0
    for batch in loader:
        x, y = _to_device(batch, device)
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


@torch.no_grad()
def _evaluate_one_epoch(model, loader, criterion, device):
    model.eval()
    total, correct = 0.0, 0
    for batch in loader:
        x, y = _to_device(batch, device)
        logits = model(x)
        total += criterion(logits, y).item()
        correct += logits.argmax(-1).eq(y).sum().item()
    return total / len(loader), correct / len(loader.sampler)


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    device = torch.device(device) if isinstance(device, str) else device
    model = model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for _ in range(epochs):
        history["train_loss"].append(_train_one_epoch(model, train_loader, criterion, optimizer, device))
        test_loss, test_acc = _evaluate_one_epoch(model, test_loader, criterion, device)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    return history
'''

EX4_CORRECT = [
    Sample("ex4_mps_built_as_tensor", "Exercise 4 (correct): mps.is_built() and mps.is_available(); "
           "device = torch.device(device), model = model.to(device), torch.as_tensor(x, device=device), "
           "accuracy over len(loader.dataset)",
           {"ex4_solution": EX4_MPS_BUILT_AS_TENSOR}),
    Sample("ex4_accelerator_non_blocking", "Exercise 4 (correct): torch.accelerator.is_available() / "
           "current_accelerator() with a cpu fallback; x.to(device, non_blocking=True)",
           {"ex4_solution": EX4_ACCELERATOR_NON_BLOCKING}),
    Sample("ex4_device_count_view_sampler", "Exercise 4 (correct): torch.cuda.device_count() > 0; "
           "x = x.to(device).view(x.size(0), -1), reshaped after the move; accuracy over len(loader.sampler)",
           {"ex4_solution": EX4_DEVICE_COUNT_VIEW_SAMPLER}),
    Sample("ex4_train_acc_pass", "Exercise 4 (correct): an extra eval pass over the train loader each epoch to log "
           "training accuracy; device = torch.device(device); len(loader.dataset)",
           {"ex4_solution": EX4_TRAIN_ACC_PASS}),
    Sample("ex4_trainer_helpers_sampler", "Exercise 4 (correct): getattr-guarded mps, cuda.device_count(); "
           "helpers per pass, a tuple of non_blocking moves, @torch.no_grad(), accuracy over len(loader.sampler)",
           {"ex4_solution": EX4_TRAINER_HELPERS_SAMPLER}),
]

CORRECT = [*EX1_CORRECT, *EX2_CORRECT, *EX4_CORRECT]
