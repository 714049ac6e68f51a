"""Answers adapted from public PyTorch code (issue 19): the idioms people really write.

Each correct sample is a well-known public implementation changed with the smallest honest edits
to the exercise's signature and return contract (the names, the loss passed in as `criterion`, the
mean of the batch losses where the source averages over samples); its idioms are kept. `about`
names where it came from. Each must get every autograded point. The mistakes are the ones that
appear in public code and in students' copies of it; each must fail the test cells it names.
"""

from .harness import Sample

# ---------------------------------------------------------------------------
# Cell 4: train_epoch / evaluate
# ---------------------------------------------------------------------------

# pytorch/tutorials, beginner_source/basics/quickstart_tutorial.py: train() and test(); zero_grad()
# after step(), `(pred.argmax(1) == y).type(torch.float).sum().item()`, `test_loss /= num_batches`.
CELL4_QUICKSTART = '''
def train_epoch(model, loader, criterion, optimizer):
    """Train `model` for one epoch; return (mean batch loss, accuracy) as floats."""
    size = len(loader.dataset)
    num_batches = len(loader)
    model.train()
    train_loss, correct = 0, 0
    for batch, (X, y) in enumerate(loader):
        # Compute prediction error
        pred = model(X)
        loss = criterion(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        train_loss += loss.item()
        correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return train_loss / num_batches, correct / size


def evaluate(model, loader, criterion):
    """Mean batch loss and accuracy of `model` on `loader`, without training."""
    size = len(loader.dataset)
    num_batches = len(loader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in loader:
            pred = model(X)
            test_loss += criterion(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    return test_loss, correct
'''

# pytorch/examples, mnist/main.py: train() with enumerate and batch_idx logging, test() with
# `pred = output.argmax(dim=1, keepdim=True)` and `pred.eq(target.view_as(pred)).sum().item()`.
CELL4_EXAMPLES_MNIST = '''
def train_epoch(model, loader, criterion, optimizer, log_interval=10):
    """Train `model` for one epoch; return (mean batch loss, accuracy) as floats."""
    model.train()
    running, correct = 0.0, 0
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        running += loss.item()
        pred = output.argmax(dim=1, keepdim=True)
        correct += pred.eq(target.view_as(pred)).sum().item()
        if batch_idx % log_interval == 0:
            print('Train: [{}/{} ({:.0f}%)]\\tLoss: {:.6f}'.format(
                batch_idx * len(data), len(loader.dataset),
                100. * batch_idx / len(loader), loss.item()))
    return running / len(loader), correct / len(loader.dataset)


def evaluate(model, loader, criterion):
    """Mean batch loss and accuracy of `model` on `loader`, without training."""
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += criterion(output, target).item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(loader)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(loader.dataset), 100. * correct / len(loader.dataset)))
    return test_loss, correct / len(loader.dataset)
'''

# karpathy/nanoGPT, train.py: estimate_loss() under @torch.no_grad(), losses kept in a tensor,
# model.train() at its end (the mode the training loop expects back); losses.mean() as a tensor.
CELL4_NANOGPT = '''
def train_epoch(model, loader, criterion, optimizer):
    """Train `model` for one epoch; return (mean batch loss, accuracy) as floats."""
    model.train()
    losses = torch.zeros(len(loader))
    hits = 0
    for k, (X, Y) in enumerate(loader):
        logits = model(X)
        loss = criterion(logits, Y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses[k] = loss.item()
        hits += (logits.argmax(dim=-1) == Y).sum().item()
    return losses.mean().item(), hits / len(loader.dataset)


@torch.no_grad()
def evaluate(model, loader, criterion):
    """Mean batch loss and accuracy of `model` on `loader`, without training."""
    model.eval()
    losses = torch.zeros(len(loader))
    hits = 0
    for k, (X, Y) in enumerate(loader):
        logits = model(X)
        loss = criterion(logits, Y)
        losses[k] = loss.item()
        hits += (logits.argmax(dim=-1) == Y).sum().item()
    out = losses.mean().item(), hits / len(loader.dataset)
    model.train()
    return out
'''

# pytorch/tutorials, beginner_source/transfer_learning_tutorial.py: visualize_model() keeps
# `was_training` and ends with model.train(mode=was_training); train_model()'s
# `_, preds = torch.max(outputs, 1)` and `running_corrects += torch.sum(preds == labels.data)`.
CELL4_TRANSFER_LEARNING = '''
def train_epoch(model, loader, criterion, optimizer):
    """Train `model` for one epoch; return (mean batch loss, accuracy) as floats."""
    model.train()  # Set model to training mode
    running_loss = 0.0
    running_corrects = 0
    for inputs, labels in loader:
        # zero the parameter gradients
        optimizer.zero_grad()
        with torch.set_grad_enabled(True):
            outputs = model(inputs)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
        running_loss += loss.item()
        running_corrects += torch.sum(preds == labels.data)
    epoch_acc = running_corrects.double() / len(loader.dataset)
    return running_loss / len(loader), epoch_acc.item()


def evaluate(model, loader, criterion):
    """Mean batch loss and accuracy of `model` on `loader`, without training."""
    was_training = model.training
    model.eval()
    running_loss = 0.0
    running_corrects = 0
    with torch.no_grad():
        for i, (inputs, labels) in enumerate(loader):
            outputs = model(inputs)
            _, preds = torch.max(outputs, 1)
            running_loss += criterion(outputs, labels).item()
            running_corrects += torch.sum(preds == labels.data)
        model.train(mode=was_training)
    return running_loss / len(loader), (running_corrects.double() / len(loader.dataset)).item()
'''

# d2l-ai/d2l-en, chapter_linear-classification (train_epoch_ch3, evaluate_accuracy, Accumulator),
# with the batch losses summed (the contract's mean of batch losses), `net.forward(X)` called
# directly; Accumulator keeps Python floats (float(b)), so the results are floats.
CELL4_D2L = '''
class Accumulator:
    """For accumulating sums over `n` variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def train_epoch(model, loader, criterion, optimizer):
    """Train `model` for one epoch; return (mean batch loss, accuracy) as floats."""
    net, updater, loss = model, optimizer, criterion
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(4)  # Sum of batch losses, no. of batches, no. of correct predictions, no. of predictions
    for X, y in loader:
        y_hat = net.forward(X)
        l = loss(y_hat, y)
        updater.zero_grad()
        l.mean().backward()
        updater.step()
        metric.add(float(l), 1, accuracy(y_hat, y), y.numel())
    return metric[0] / metric[1], metric[2] / metric[3]


def evaluate(model, loader, criterion):
    """Mean batch loss and accuracy of `model` on `loader`, without training."""
    net = model
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(4)
    with torch.no_grad():
        for X, y in loader:
            y_hat = net.forward(X)
            metric.add(criterion(y_hat, y).item(), 1, accuracy(y_hat, y), y.numel())
    return metric[0] / metric[1], metric[2] / metric[3]
'''

# ---------------------------------------------------------------------------
# Exercise 3: accumulated_step
# ---------------------------------------------------------------------------

# huggingface/transformers, examples/pytorch/*/run_*_no_trainer.py: `loss = loss /
# args.gradient_accumulation_steps`, model.zero_grad() (their idiom), `total_loss +=
# loss.detach().float()` and `.item()` at the end.
EX3_HF_MODEL_ZERO_GRAD = '''
def accumulated_step(model, criterion, optimizer, x, y, accumulation_steps):
    """One optimiser step on (x, y), accumulating gradients over equal micro-batches."""
    model.train()
    model.zero_grad()
    total_loss = 0
    for step, (inputs, labels) in enumerate(zip(x.chunk(accumulation_steps), y.chunk(accumulation_steps))):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        total_loss += loss.detach().float()
        loss = loss / accumulation_steps
        loss.backward()
    optimizer.step()
    return total_loss.item() / accumulation_steps
'''

# The accumulation recipe of the PyTorch forums and of pytorch-lightning's docs: a step counter
# over slices, `(i + 1) % accumulation_steps == 0` deciding the step, gradients set to None.
EX3_COUNTER_SLICES = '''
def accumulated_step(model, criterion, optimizer, x, y, accumulation_steps):
    """One optimiser step on (x, y), accumulating gradients over equal micro-batches."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    size = x.size(0) // accumulation_steps
    running = 0.0
    for i in range(accumulation_steps):
        xb, yb = x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]
        loss = criterion(model(xb), yb)
        (loss / accumulation_steps).backward()
        running += loss.item() / accumulation_steps
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
    return running
'''

_TRAIN, _EVAL = "cell4_tests_train_epoch", "cell4_tests_evaluate"
_FULL, _CLEARS, _LOSS = "ex3_tests_matches_full_batch", "ex3_tests_clears_old_gradients", "ex3_tests_returns_loss"

CORRECT = [
    Sample("public_cell4_quickstart", "Cell 4 (correct, pytorch/tutorials quickstart_tutorial.py): zero_grad() "
           "after step(), .type(torch.float).sum().item(), test_loss /= num_batches", {"cell4_solution": CELL4_QUICKSTART}),
    Sample("public_cell4_examples_mnist", "Cell 4 (correct, pytorch/examples mnist/main.py): batch_idx logging, "
           "argmax(keepdim=True) and pred.eq(target.view_as(pred))", {"cell4_solution": CELL4_EXAMPLES_MNIST}),
    Sample("public_cell4_nanogpt", "Cell 4 (correct, karpathy/nanoGPT estimate_loss): @torch.no_grad(), losses "
           "in a tensor, model.train() at the end of evaluate", {"cell4_solution": CELL4_NANOGPT}),
    Sample("public_cell4_transfer_learning", "Cell 4 (correct, pytorch/tutorials transfer_learning_tutorial.py): "
           "was_training restored with model.train(mode=was_training), torch.max(outputs, 1), torch.sum(preds == "
           "labels.data)", {"cell4_solution": CELL4_TRANSFER_LEARNING}),
    Sample("public_cell4_d2l", "Cell 4 (correct, d2l train_epoch_ch3 / evaluate_accuracy): Accumulator, "
           "net.forward(X) called directly", {"cell4_solution": CELL4_D2L}),
    Sample("public_ex3_hf_model_zero_grad", "Exercise 3 (correct, Hugging Face no_trainer examples): "
           "model.zero_grad(), x.chunk(k), loss / gradient_accumulation_steps, total_loss += loss.detach().float()",
           {"ex3_solution": EX3_HF_MODEL_ZERO_GRAD}),
    Sample("public_ex3_counter_slices", "Exercise 3 (correct, the forums' and Lightning docs' recipe): slices, "
           "(i + 1) % accumulation_steps == 0 decides the step, zero_grad(set_to_none=True)",
           {"ex3_solution": EX3_COUNTER_SLICES}),
]

MISTAKES = [
    Sample("cell4_numpy_mean_return", "Cell 4: the mean loss returned through np.mean, a NumPy "
           "float64 (Cell 5 saves these numbers, and weights_only loading refuses NumPy scalars)",
           {"cell4_solution": [("    return total_loss / len(loader), correct / seen\n\n\ndef evaluate",
                                "    return np.mean([total_loss / len(loader)]), correct / seen\n\n\ndef evaluate")]},
           loses=("cell4",), fails=(_TRAIN,)),
    Sample("ex3_no_zero_grad", "Exercise 3: no zero_grad() at all (stale gradients join the step)",
           {"ex3_solution": [("    optimizer.zero_grad()\n", "")]}, loses=("ex3",), fails=(_CLEARS,)),
    Sample("ex3_zero_grad_every_micro_batch", "Exercise 3: zero_grad() inside the loop (only the last "
           "micro-batch's gradient is left)",
           {"ex3_solution": [("    optimizer.zero_grad()\n", ""),
                             ("        loss = criterion(", "        optimizer.zero_grad()\n        loss = criterion(")]},
           loses=("ex3",), fails=(_FULL,)),
    Sample("ex3_step_every_micro_batch", "Exercise 3: optimizer.step() after every micro-batch",
           {"ex3_solution": [("        total += loss.item()\n    optimizer.step()\n",
                              "        total += loss.item()\n        optimizer.step()\n")]},
           loses=("ex3",), fails=(_FULL, _CLEARS, _LOSS)),
    Sample("ex3_no_loss_scaling", "Exercise 3: micro-batch losses not divided by accumulation_steps "
           "(k times the gradient and the loss)",
           {"ex3_solution": [("y_part) / accumulation_steps", "y_part)")]}, loses=("ex3",), fails=(_FULL, _LOSS)),
    Sample("ex3_last_loss_only", "Exercise 3: returns only the last micro-batch's loss (= instead of +=)",
           {"ex3_solution": [("        total += loss.item()\n", "        total = loss.item()\n")]},
           loses=("ex3",), fails=(_LOSS,)),
    Sample("ex3_loss_tensor", "Exercise 3: returns the loss as a tensor (no .item())",
           {"ex3_solution": [("        total += loss.item()\n", "        total += loss.detach()\n")]},
           loses=("ex3",), fails=(_LOSS,)),
]

# ---------------------------------------------------------------------------
# Exercise 4: get_device / fit
# ---------------------------------------------------------------------------

_EVAL_LOOP = '''
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += criterion(output, target).item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        history["test_loss"].append(test_loss / len(test_loader))
        history["test_acc"].append(correct / len(test_loader.dataset))
'''

# pytorch/examples, mnist/main.py: use_cuda / use_mps flags deciding the device, then
# `data, target = data.to(device), target.to(device)` in train() and test().
EX4_EXAMPLES_MNIST = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    if use_cuda:
        device = torch.device("cuda")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    return device


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model = model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        model.train()
        running = 0.0
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            running += loss.item()
        history["train_loss"].append(running / len(train_loader))
''' + _EVAL_LOOP + '''    return history
'''

# pytorch/tutorials, quickstart_tutorial.py (before torch.accelerator): the device decided once,
# at module level, `device = "cuda" if ... else "mps" if ... else "cpu"`; get_device returns it.
EX4_QUICKSTART_MODULE_DEVICE = '''
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")


def get_device():
    """The best available device: cuda, then mps, then cpu."""
    return DEVICE


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for t in range(epochs):
        model.train()
        total = 0.0
        for batch, (X, y) in enumerate(train_loader):
            X, y = X.to(device), y.to(device)
            pred = model(X)
            loss = criterion(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        size, num_batches = len(test_loader.dataset), len(test_loader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in test_loader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += criterion(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        history["test_loss"].append(test_loss / num_batches)
        history["test_acc"].append(correct / size)
    return history
'''

# A utils.py idiom of many course and Kaggle repositories: the availability check imported by
# name, the answer cached with functools.lru_cache, the GPU's name printed when there is one.
EX4_LRU_CACHE_DEVICE_NAME = '''
import functools

from torch.cuda import is_available as cuda_is_available


@functools.lru_cache(maxsize=None)
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    if cuda_is_available():
        print(f"Using GPU: {torch.cuda.get_device_name(0)}")
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        print("Using Apple MPS")
        return torch.device("mps")
    print("Using CPU")
    return torch.device("cpu")


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for data, target in train_loader:
            data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
            optimizer.zero_grad()
            loss = criterion(model(data), target)
            loss.backward()
            optimizer.step()
            running += loss.item()
        history["train_loss"].append(running / len(train_loader))
''' + _EVAL_LOOP + '''        print(f"epoch {epoch + 1}: train {history['train_loss'][-1]:.4f} test {history['test_loss'][-1]:.4f}")
    return history
'''

# d2l-ai/d2l-en, try_gpu() and train_ch6(): `torch.cuda.device_count() >= i + 1` and
# torch.device(f'cuda:{i}') (mps added, as the exercise asks), `net.to(device)`, an evaluation before
# training ("Before training" as in many course notebooks), and a train_acc the history also keeps.
EX4_D2L_VALIDATE_FIRST = '''
def get_device(i=0):
    """The best available device: cuda, then mps, then cpu."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    if torch.backends.mps.is_available():
        return torch.device('mps')
    return torch.device('cpu')


def _evaluate(net, loader, loss, device):
    net.eval()
    total, hits, n = 0.0, 0, 0
    with torch.no_grad():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            total += loss(y_hat, y).item()
            hits += (y_hat.argmax(axis=1) == y).sum().item()
            n += y.numel()
    return total / len(loader), hits / n


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    net, loss, updater = model, criterion, optimizer
    print('training on', device)
    net.to(device)
    before, _ = _evaluate(net, test_loader, loss, device)
    print(f'Before training, val. loss {before:.3f}')
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):
        net.train()
        total, hits, n = 0.0, 0, 0
        for X, y in train_loader:
            updater.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            updater.step()
            total += l.item()
            hits += (y_hat.argmax(axis=1) == y).sum().item()
            n += y.numel()
        history["train_loss"].append(total / len(train_loader))
        history["train_acc"].append(hits / n)
        test_loss, test_acc = _evaluate(net, test_loader, loss, device)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    return history
'''

CORRECT += [
    Sample("public_ex4_examples_mnist", "Exercise 4 (correct, pytorch/examples mnist/main.py): use_cuda / use_mps "
           "flags, enumerate(train_loader), data.to(device)", {"ex4_solution": EX4_EXAMPLES_MNIST}),
    Sample("public_ex4_quickstart_module_device", "Exercise 4 (correct, pytorch/tutorials quickstart): the device "
           "decided once in a module-level DEVICE that get_device returns", {"ex4_solution": EX4_QUICKSTART_MODULE_DEVICE}),
    Sample("public_ex4_lru_cache_device_name", "Exercise 4 (correct, a common utils.py): from torch.cuda import "
           "is_available, @functools.lru_cache, prints torch.cuda.get_device_name(0)", {"ex4_solution": EX4_LRU_CACHE_DEVICE_NAME}),
    Sample("public_ex4_d2l_validate_first", "Exercise 4 (correct, d2l try_gpu / train_ch6): cuda device_count, "
           "cuda:0, an evaluation before training, an extra train_acc key", {"ex4_solution": EX4_D2L_VALIDATE_FIRST}),
]

# ---------------------------------------------------------------------------
# Blind spots closed (issue 19): mistakes that used to get full marks
# ---------------------------------------------------------------------------

# Exercise 2 with both runs seeded and built first, trained afterwards: on a loader shuffled by
# the global generator the second run sees other batches than the first.
EX2_SEED_ALL_FIRST = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    runs = {}
    for name in ("constant", "cosine"):
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if name == "cosine" else None
        runs[name] = (model, optimizer, scheduler)
    histories = {}
    criterion = nn.CrossEntropyLoss()
    for name, (model, optimizer, scheduler) in runs.items():
        h = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for _ in range(epochs):
            h["lr"].append(float(optimizer.param_groups[0]["lr"]))
            train_loss, _ = train_epoch(model, train_loader, criterion, optimizer)
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            h["train_loss"].append(float(train_loss))
            h["test_loss"].append(float(test_loss))
            h["test_acc"].append(float(test_acc))
            if scheduler is not None:
                scheduler.step()
        histories[name] = h
    return histories
'''

# Cell 6 by autograd inside the function (what the cell asks not to do).
CELL6_AUTOGRAD = '''
def manual_gradients(w1, w2, b, x1, x2):
    """(dy/dw1, dy/dw2, dy/db) for y = w1*x1 + w2*x2 + b, derived by hand."""
    w1, w2, b = (torch.tensor(float(v), requires_grad=True) for v in (w1, w2, b))
    y = w1 * x1 + w2 * x2 + b
    y.backward()
    return w1.grad.item(), w2.grad.item(), b.grad.item()
'''

# The sklearn documentation's split with stratify=y, torch.from_numpy(...).float() / .long().
CELL3_FROM_NUMPY_STRATIFY = '''
X, y = make_classification(n_samples=1000, n_features=10, random_state=0)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
X_train, X_test = torch.from_numpy(X_tr).float(), torch.from_numpy(X_te).float()
y_train, y_test = torch.from_numpy(y_tr).long(), torch.from_numpy(y_te).long()
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=32, shuffle=False)
'''

CORRECT += [
    Sample("public_cell3_from_numpy_stratify", "Cell 3 (correct, scikit-learn's user guide split): random_state=0, "
           "stratify=y, torch.from_numpy(...).float() and .long()", {"cell3_solution": CELL3_FROM_NUMPY_STRATIFY}),
    Sample("public_cell6_tensors", "Cell 6 (correct): the formulas returned as tensors (torch.as_tensor)",
           {"cell6_solution": [("    return x1, x2, 1.0",
                                "    return torch.as_tensor(x1), torch.as_tensor(x2), torch.tensor(1.0)")]}),
]

MISTAKES += [
    Sample("ex1_label_encoder_per_file", "Exercise 1: the targets renumbered per file with "
           "LabelEncoder().fit_transform (a split without class 0 gets other labels)",
           {"ex1_solution": [("        self.y = torch.as_tensor(table[:, target_index], dtype=torch.int64)\n",
                              "        from sklearn.preprocessing import LabelEncoder\n"
                              "        self.y = torch.as_tensor(LabelEncoder().fit_transform(table[:, target_index]), "
                              "dtype=torch.int64)\n")]},
           loses=("ex1",), fails=("ex1_hidden_target_column",)),
    Sample("ex2_seed_all_runs_first", "Exercise 2: both runs seeded and built first, trained afterwards (on a "
           "shuffled loader the runs see different batches)", {"ex2_solution": EX2_SEED_ALL_FIRST},
           loses=("ex2",), fails=("ex2_hidden_arguments",)),
    Sample("cell3_split_apart", "Cell 3: X and y split by two train_test_split calls with different seeds (rows "
           "paired with other rows' labels)",
           {"cell3_solution": [("_X_tr, _X_te, _y_tr, _y_te = train_test_split(_X, _y, test_size=0.2, random_state=42)\n",
                                "_X_tr, _X_te = train_test_split(_X, test_size=0.2, random_state=42)\n"
                                "_y_tr, _y_te = train_test_split(_y, test_size=0.2, random_state=7)\n")]},
           loses=("cell3",), fails=("cell3_tests_tensors",)),
    Sample("cell6_autograd", "Cell 6: manual_gradients calls backward() instead of using the formulas",
           {"cell6_solution": CELL6_AUTOGRAD}, loses=("cell6",), fails=("cell6_tests_gradients",)),
]
