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

# The scikit-learn user guide's split and torch.from_numpy(...).float() / .long(), with the task's numbers.
CELL3_FROM_NUMPY = '''
X, y = make_classification(n_samples=1000, n_features=10, n_informative=5, random_state=42)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=42)
X_train, X_test = torch.from_numpy(X_tr).float(), torch.from_numpy(X_te).float()
y_train, y_test = torch.from_numpy(y_tr).long(), torch.from_numpy(y_te).long()
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=32, shuffle=False)
'''

CORRECT += [
    Sample("public_cell3_from_numpy", "Cell 3 (correct, scikit-learn's user guide split): the task's numbers, "
           "torch.from_numpy(...).float() and .long()", {"cell3_solution": CELL3_FROM_NUMPY}),
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
    Sample("cell3_other_seed", "Cell 3: another random_state than the task pins (the later cells' numbers change)",
           {"cell3_solution": [("n_informative=5, random_state=42)", "n_informative=5, random_state=0)")]},
           loses=("cell3",), fails=("cell3_tests_tensors",)),
    Sample("cell3_split_apart", "Cell 3: X and y split by two train_test_split calls with different seeds (rows "
           "paired with other rows' labels)",
           {"cell3_solution": [("_X_tr, _X_te, _y_tr, _y_te = train_test_split(_X, _y, test_size=0.2, random_state=42)\n",
                                "_X_tr, _X_te = train_test_split(_X, test_size=0.2, random_state=42)\n"
                                "_y_tr, _y_te = train_test_split(_y, test_size=0.2, random_state=7)\n")]},
           loses=("cell3",), fails=("cell3_tests_tensors",)),
    Sample("cell6_autograd", "Cell 6: manual_gradients calls backward() instead of using the formulas",
           {"cell6_solution": CELL6_AUTOGRAD}, loses=("cell6",), fails=("cell6_tests_gradients",)),
]

# ---------------------------------------------------------------------------
# Cell 5: save_checkpoint / load_checkpoint
# ---------------------------------------------------------------------------

# pytorch/tutorials, recipes_source/recipes/saving_and_loading_a_general_checkpoint.py: the dict of
# 'epoch', 'model_state_dict', 'optimizer_state_dict' and the loss; model.train() after loading
# ("- or - model.train()" to resume training); the RNG state added, as the task asks.
CELL5_TUTORIAL_RECIPE = '''
def save_checkpoint(path, model, optimizer, epoch, **metrics):
    """Save model, optimiser, epoch, RNG state and metrics to `path`."""
    torch.save({
        'epoch': epoch,
        'model_state_dict': model.state_dict(),
        'optimizer_state_dict': optimizer.state_dict(),
        'rng_state': torch.get_rng_state(),
        **metrics,
    }, path)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimiser and RNG state from `path`; return the checkpoint dict."""
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint['model_state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    epoch = checkpoint['epoch']
    torch.set_rng_state(checkpoint['rng_state'])
    model.train()
    return checkpoint
'''

# pytorch/examples, imagenet/main.py: save_checkpoint(state, is_best, filename) with a copy of the
# best one (shutil.copyfile), resume with map_location and checkpoint['epoch'].
CELL5_EXAMPLES_IMAGENET = '''
import shutil


def save_checkpoint(path, model, optimizer, epoch, is_best=False, **metrics):
    """Save model, optimiser, epoch, RNG state and metrics to `path`."""
    state = {
        'epoch': epoch,
        'model_state_dict': model.state_dict(),
        'optimizer_state_dict': optimizer.state_dict(),
        'rng_state': torch.get_rng_state(),
    }
    state.update(metrics)
    torch.save(state, path)
    if is_best:
        shutil.copyfile(path, Path(path).with_name('model_best.pth.tar'))


def load_checkpoint(path, model, optimizer):
    """Restore model, optimiser and RNG state from `path`; return the checkpoint dict."""
    print("=> loading checkpoint '{}'".format(path))
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    model.load_state_dict(checkpoint['model_state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    torch.set_rng_state(checkpoint['rng_state'])
    print("=> loaded checkpoint '{}' (epoch {})".format(path, checkpoint['epoch']))
    return checkpoint
'''

# karpathy/nanoGPT, train.py: the checkpoint dict built first, the '_orig_mod.' prefix of a
# torch.compile'd model stripped from the state dict before loading it.
CELL5_NANOGPT = '''
def save_checkpoint(path, model, optimizer, epoch, **metrics):
    """Save model, optimiser, epoch, RNG state and metrics to `path`."""
    checkpoint = {
        'model_state_dict': model.state_dict(),
        'optimizer_state_dict': optimizer.state_dict(),
        'epoch': epoch,
        'rng_state': torch.get_rng_state(),
    }
    for k, v in metrics.items():
        checkpoint[k] = v
    print(f"saving checkpoint to {path}")
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimiser and RNG state from `path`; return the checkpoint dict."""
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    state_dict = checkpoint['model_state_dict']
    # fix the keys of the state dictionary :(
    # honestly no idea how checkpoints sometimes get this prefix, have to debug more
    unwanted_prefix = '_orig_mod.'
    for k, v in list(state_dict.items()):
        if k.startswith(unwanted_prefix):
            state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
    model.load_state_dict(state_dict)
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    torch.set_rng_state(checkpoint['rng_state'])
    return checkpoint
'''

# The write-then-rename idiom of Lightning's and Hugging Face's savers (a crash mid-write never
# leaves a half file under the real name), torch.random's get/set_rng_state.
CELL5_ATOMIC_REPLACE = '''
import os


def save_checkpoint(path, model, optimizer, epoch, **metrics):
    """Save model, optimiser, epoch, RNG state and metrics to `path`."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(dict(epoch=epoch, model_state_dict=model.state_dict(),
                    optimizer_state_dict=optimizer.state_dict(),
                    rng_state=torch.random.get_rng_state(), **metrics), tmp)
    os.replace(tmp, path)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimiser and RNG state from `path`; return the checkpoint dict."""
    ckpt = torch.load(Path(path), weights_only=True, map_location=torch.device("cpu"))
    missing, unexpected = model.load_state_dict(ckpt["model_state_dict"], strict=True)
    assert not missing and not unexpected
    optimizer.load_state_dict(ckpt["optimizer_state_dict"])
    torch.random.set_rng_state(ckpt["rng_state"])
    return ckpt
'''

# huggingface/transformers Trainer._save_rng_state / _load_rng_state: Python's and torch's
# generators both saved (and CUDA's where there is one); Python's state is a tuple of ints, which
# weights_only loading accepts.
CELL5_HF_RNG_STATES = '''
import random


def save_checkpoint(path, model, optimizer, epoch, **metrics):
    """Save model, optimiser, epoch, RNG state and metrics to `path`."""
    rng_states = {"python": random.getstate(), "cpu": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        rng_states["cuda"] = torch.cuda.random.get_rng_state_all()
    checkpoint = {"epoch": epoch, "model_state_dict": model.state_dict(),
                  "optimizer_state_dict": optimizer.state_dict(), "rng_state": rng_states["cpu"],
                  "rng_states": rng_states}
    checkpoint.update(metrics)
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimiser and RNG state from `path`; return the checkpoint dict."""
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    checkpoint_rng_state = checkpoint["rng_states"]
    random.setstate(checkpoint_rng_state["python"])
    torch.random.set_rng_state(checkpoint_rng_state["cpu"])
    if torch.cuda.is_available() and "cuda" in checkpoint_rng_state:
        torch.cuda.random.set_rng_state_all(checkpoint_rng_state["cuda"])
    return checkpoint
'''

CORRECT += [
    Sample("public_cell5_tutorial_recipe", "Cell 5 (correct, pytorch/tutorials saving_and_loading_a_general_checkpoint): "
           "the recipe's dict, model.train() after loading", {"cell5_solution": CELL5_TUTORIAL_RECIPE}),
    Sample("public_cell5_examples_imagenet", "Cell 5 (correct, pytorch/examples imagenet/main.py): is_best copy with "
           "shutil.copyfile, map_location, the '=> loading checkpoint' prints", {"cell5_solution": CELL5_EXAMPLES_IMAGENET}),
    Sample("public_cell5_nanogpt", "Cell 5 (correct, karpathy/nanoGPT train.py): the '_orig_mod.' prefix stripped "
           "before load_state_dict", {"cell5_solution": CELL5_NANOGPT}),
    Sample("public_cell5_atomic_replace", "Cell 5 (correct, Lightning / Hugging Face savers): written to a .tmp file "
           "then os.replace, torch.random.get_rng_state, strict=True", {"cell5_solution": CELL5_ATOMIC_REPLACE}),
    Sample("public_cell5_hf_rng_states", "Cell 5 (correct, transformers Trainer._save_rng_state): Python's and "
           "torch's generator states, random.setstate on load", {"cell5_solution": CELL5_HF_RNG_STATES}),
]

MISTAKES += [
    Sample("cell5_no_rng_state", "Cell 5: the tutorial recipe as it is, without the RNG state (a resumed run "
           "sees other shuffles)",
           {"cell5_solution": [('        "rng_state": torch.get_rng_state(),\n', ""),
                               ('    torch.set_rng_state(checkpoint["rng_state"])\n', "")]},
           loses=("cell5",), fails=("cell5_tests_roundtrip", "cell5_tests_resume")),
    Sample("cell5_model_only", "Cell 5: only model.state_dict() restored (the optimiser starts again: Adam's "
           "moments lost)",
           {"cell5_solution": [('    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])\n', "")]},
           loses=("cell5",), fails=("cell5_tests_roundtrip", "cell5_tests_resume")),
]

# ---------------------------------------------------------------------------
# Exercise 1: MyTabularDataset
# ---------------------------------------------------------------------------

# scikit-learn's StandardScaler (what the theory text compares with): fit on the file unless the
# statistics are given; scale_ is 1 for a constant column, which the task allows as its std.
EX1_STANDARD_SCALER = '''
import pandas as pd
from sklearn.preprocessing import StandardScaler


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        df = pd.read_csv(csv_path)
        if target_column not in df.columns:
            raise ValueError(f"Column {target_column} not found")
        X = df.drop(columns=[target_column]).values
        scaler = StandardScaler().fit(X)
        self.mean = torch.as_tensor(scaler.mean_ if mean is None else mean, dtype=torch.float32)
        self.std = torch.as_tensor(scaler.scale_ if std is None else std, dtype=torch.float32)
        safe = torch.where(self.std == 0, torch.ones_like(self.std), self.std)
        self.X = (torch.tensor(X, dtype=torch.float32) - self.mean) / safe
        self.y = torch.tensor(df[target_column].values, dtype=torch.long)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]
'''

# pytorch/tutorials, beginner_source/basics/data_tutorial.py (CustomImageDataset): the DataFrame
# kept, __getitem__ reads one row with iloc and applies the transform (here: standardising).
EX1_DATA_TUTORIAL_ILOC = '''
import pandas as pd


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        self.table = pd.read_csv(csv_path)
        if target_column not in self.table.columns:
            raise ValueError(f"no column named {target_column!r}")
        self.target_column = target_column
        self.feature_columns = [c for c in self.table.columns if c != target_column]
        features = self.table[self.feature_columns]
        self.mean = torch.as_tensor(features.mean().values if mean is None else mean, dtype=torch.float32)
        self.std = torch.as_tensor(features.std(ddof=0).values if std is None else std, dtype=torch.float32)
        self.transform = lambda x: (x - self.mean) / torch.where(self.std == 0, torch.tensor(1.0), self.std)

    def __len__(self):
        return len(self.table)

    def __getitem__(self, idx):
        if idx < -len(self) or idx >= len(self):
            raise IndexError(idx)
        row = self.table.iloc[idx]
        x = torch.tensor(row[self.feature_columns].values.astype("float32"))
        label = torch.tensor(int(row[self.target_column]))
        x = self.transform(x)
        return x, label
'''

CORRECT += [
    Sample("public_ex1_standard_scaler", "Exercise 1 (correct, scikit-learn StandardScaler): mean_ and scale_ "
           "(1 for a constant column), tensor indexing for negatives and IndexError", {"ex1_solution": EX1_STANDARD_SCALER}),
    Sample("public_ex1_data_tutorial_iloc", "Exercise 1 (correct, pytorch/tutorials data_tutorial.py "
           "CustomImageDataset): the DataFrame kept, one row read with iloc, a transform standardises it",
           {"ex1_solution": EX1_DATA_TUTORIAL_ILOC}),
]

# ---------------------------------------------------------------------------
# Exercise 2: compare_schedulers
# ---------------------------------------------------------------------------

# The PyTorch documentation's torch.optim page, "How to adjust learning rate": the scheduler made
# after the optimizer and stepped once per epoch after the epoch's training; get_last_lr().
EX2_TORCH_DOCS = '''
def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    results = {}
    for name in ["constant", "cosine"]:
        torch.manual_seed(seed)
        model = make_model()
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if name == "cosine" else None
        history = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(epochs):
            history["lr"].append(scheduler.get_last_lr()[0] if scheduler else lr)
            train_loss, _ = train_epoch(model, train_loader, loss_fn, optimizer)
            test_loss, test_acc = evaluate(model, test_loader, loss_fn)
            history["train_loss"].append(train_loss)
            history["test_loss"].append(test_loss)
            history["test_acc"].append(test_acc)
            if scheduler:
                scheduler.step()
        results[name] = history
    return results
'''

# pytorch/examples, mnist/main.py: `scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)`
# stepped after train() and test(); the constant run is the same loop with gamma=1.0.
EX2_EXAMPLES_STEPLR = '''
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    out = {}
    for name in ("constant", "cosine"):
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        if name == "cosine":
            scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
        else:
            scheduler = StepLR(optimizer, step_size=1, gamma=1.0)
        criterion = nn.CrossEntropyLoss()
        log = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(1, epochs + 1):
            log["lr"].append(optimizer.param_groups[0]["lr"])
            train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer)
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            for key, value in zip(("train_loss", "test_loss", "test_acc"), (train_loss, test_loss, test_acc)):
                log[key].append(value)
            scheduler.step()
        out[name] = log
    return out
'''

# huggingface/transformers, optimization.py: get_cosine_schedule_with_warmup's LambdaLR (no warm-up,
# num_cycles=0.5), stepped once per epoch with num_training_steps=epochs.
EX2_HF_COSINE_LAMBDA = '''
import math


def _get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    histories = {}
    for schedule in ("constant", "cosine"):
        torch.manual_seed(seed)
        model = make_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        lr_scheduler = (_get_cosine_schedule_with_warmup(optimizer, 0, epochs) if schedule == "cosine" else None)
        criterion = nn.CrossEntropyLoss()
        h = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for _ in range(epochs):
            h["lr"].append(float(optimizer.param_groups[0]["lr"]))
            h["train_loss"].append(train_epoch(model, train_loader, criterion, optimizer)[0])
            test_loss, test_acc = evaluate(model, test_loader, criterion)
            h["test_loss"].append(test_loss)
            h["test_acc"].append(test_acc)
            if lr_scheduler is not None:
                lr_scheduler.step()
        histories[schedule] = h
    return histories
'''

# d2l-ai/d2l-en, chapter_optimization/lr-scheduler: a CosineScheduler object called with the epoch,
# its rate written into every param_group before the epoch (final_lr 0, no warm-up).
EX2_D2L_COSINE_SCHEDULER = '''
import math


class CosineScheduler:
    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0):
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch):
        increase = (self.base_lr_orig - self.warmup_begin_lr) * float(epoch) / float(self.warmup_steps)
        return self.warmup_begin_lr + increase

    def __call__(self, epoch):
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * (
                1 + math.cos(math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    histories = {}
    for name in ("constant", "cosine"):
        torch.manual_seed(seed)
        net = make_model()
        trainer = torch.optim.Adam(net.parameters(), lr=lr)
        scheduler = CosineScheduler(max_update=epochs, base_lr=lr) if name == "cosine" else None
        loss = nn.CrossEntropyLoss()
        h = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(epochs):
            if scheduler:
                for param_group in trainer.param_groups:
                    param_group['lr'] = scheduler(epoch)
            h["lr"].append(trainer.param_groups[0]['lr'])
            train_l, _ = train_epoch(net, train_loader, loss, trainer)
            test_l, test_acc = evaluate(net, test_loader, loss)
            h["train_loss"].append(train_l)
            h["test_loss"].append(test_l)
            h["test_acc"].append(test_acc)
        histories[name] = h
    return histories
'''

CORRECT += [
    Sample("public_ex2_torch_docs", "Exercise 2 (correct, the torch.optim docs' 'How to adjust learning rate'): "
           "scheduler.get_last_lr()[0], no scheduler for the constant run", {"ex2_solution": EX2_TORCH_DOCS}),
    Sample("public_ex2_examples_steplr", "Exercise 2 (correct, pytorch/examples mnist/main.py): StepLR stepped "
           "after train and test, gamma=1.0 for the constant run", {"ex2_solution": EX2_EXAMPLES_STEPLR}),
    Sample("public_ex2_hf_cosine_lambda", "Exercise 2 (correct, transformers get_cosine_schedule_with_warmup): "
           "LambdaLR with no warm-up, stepped once per epoch", {"ex2_solution": EX2_HF_COSINE_LAMBDA}),
    Sample("public_ex2_d2l_cosine_scheduler", "Exercise 2 (correct, d2l CosineScheduler): the rate written into "
           "each param_group before the epoch", {"ex2_solution": EX2_D2L_COSINE_SCHEDULER}),
]

MISTAKES += [
    Sample("ex2_hf_cosine_stepped_per_batch_count", "Exercise 2: the transformers cosine schedule sized in batches "
           "(num_training_steps=epochs * len(train_loader)) but stepped per epoch: the rate hardly falls",
           {"ex2_solution": EX2_HF_COSINE_LAMBDA.replace("_get_cosine_schedule_with_warmup(optimizer, 0, epochs)",
                                                         "_get_cosine_schedule_with_warmup(optimizer, 0, epochs * len(train_loader))")},
           loses=("ex2",), fails=("ex2_tests_structure", "ex2_hidden_lr", "ex2_hidden_cosine")),
]

# ---------------------------------------------------------------------------
# Cells 1 and 2
# ---------------------------------------------------------------------------

# d2l-ai/d2l-en, chapter_preliminaries (ndarray.md broadcasting, autograd.md): arange(...).reshape
# (integer tensors), x.requires_grad_(True), y.backward(), x.grad.
CELL1_D2L = '''
_a = torch.arange(3).reshape((3, 1))
_b = torch.arange(3)
broadcast_result = _a + _b

_x = torch.tensor(2.0)
_x.requires_grad_(True)
_y = _x ** 2 + 3 * _x + 1
_y.backward()
dydx = _x.grad
'''

# pytorch/tutorials, beginner_source/blitz/autograd_tutorial.py: torch.autograd.grad instead of
# .backward(), on a one-element tensor; unsqueeze for the column.
CELL1_AUTOGRAD_GRAD = '''
_col = torch.tensor([1.0, 2.0, 3.0]).unsqueeze(1)
broadcast_result = _col + torch.tensor([0.5, 1.5, 2.5])

_x = torch.tensor([2.0], requires_grad=True)
_y = _x ** 2 + 3 * _x + 1
(dydx,) = torch.autograd.grad(_y.sum(), _x)
'''

# pytorch/examples, mnist/main.py's Net style: super(Net, self).__init__(), forward step by step.
CELL2_EXAMPLES_STYLE = '''
class SimpleMLP(nn.Module):
    """Two linear layers with a ReLU between them; returns logits."""

    def __init__(self, input_size, hidden_size, output_size):
        super(SimpleMLP, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = self.fc1(x)
        x = self.relu(x)
        x = self.fc2(x)
        output = x
        return output


def count_parameters(model):
    """Number of trainable parameters of `model`, as an int."""
    total = 0
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        total += parameter.numel()
    return total
'''

CORRECT += [
    Sample("public_cell1_d2l", "Cell 1 (correct, d2l ndarray/autograd): integer arange(...).reshape((3, 1)) + "
           "arange(3), x.requires_grad_(True)", {"cell1_solution": CELL1_D2L}),
    Sample("public_cell1_autograd_grad", "Cell 1 (correct, the autograd tutorial): unsqueeze(1), "
           "torch.autograd.grad on a one-element tensor", {"cell1_solution": CELL1_AUTOGRAD_GRAD}),
    Sample("public_cell2_examples_style", "Cell 2 (correct, pytorch/examples Net style): super(SimpleMLP, self), "
           "forward step by step, count_parameters over named_parameters()", {"cell2_solution": CELL2_EXAMPLES_STYLE}),
]

MISTAKES += [
    Sample("cell2_np_prod_count", "Cell 2: count_parameters as a popular forum answer writes it, "
           "sum(np.prod(p.size()) ...): a NumPy int64, not a Python int",
           {"cell2_solution": [("    return sum(p.numel() for p in model.parameters() if p.requires_grad)",
                                "    model_parameters = filter(lambda p: p.requires_grad, model.parameters())\n"
                                "    return sum([np.prod(p.size()) for p in model_parameters])")]},
           loses=("cell2",), fails=("cell2_tests_count",)),
]

# ---------------------------------------------------------------------------
# More of Exercises 1 to 4
# ---------------------------------------------------------------------------

# The Kaggle tabular-notebook idiom: DataFrame.pop the target, tensors straight from .values,
# statistics in torch (float32), masked_fill for a zero std.
EX1_KAGGLE_POP = '''
import pandas as pd


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        data = pd.read_csv(csv_path)
        if target_column not in data:
            raise ValueError(f"{target_column} is not a column of {csv_path}")
        self.y = torch.tensor(data.pop(target_column).values, dtype=torch.long)
        x = torch.tensor(data.values, dtype=torch.float64)
        self.mean = (x.mean(0) if mean is None else torch.as_tensor(mean, dtype=torch.float64)).float()
        self.std = (x.std(0, unbiased=False) if std is None else torch.as_tensor(std, dtype=torch.float64)).float()
        self.x = ((x - self.mean.double()) / self.std.double().masked_fill(self.std.double() == 0, 1.0)).float()

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, index):
        return self.x[index], self.y[index]
'''

# NumPy's genfromtxt with names=True (a structured array: the header gives the field names).
EX1_GENFROMTXT_NAMES = '''
class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        table = np.genfromtxt(csv_path, delimiter=",", names=True, dtype=np.float64)
        table = np.atleast_1d(table)
        if target_column not in table.dtype.names:
            raise ValueError(f"missing target column: {target_column}")
        feature_names = [n for n in table.dtype.names if n != target_column]
        features = np.column_stack([table[n] for n in feature_names])
        self.mean = torch.as_tensor(features.mean(axis=0) if mean is None else mean, dtype=torch.float32)
        self.std = torch.as_tensor(features.std(axis=0) if std is None else std, dtype=torch.float32)
        std_safe = np.where(self.std.numpy() == 0, 1.0, self.std.numpy().astype(np.float64))
        self.features = torch.from_numpy(((features - self.mean.numpy().astype(np.float64)) / std_safe).astype(np.float32))
        self.targets = torch.from_numpy(table[target_column].astype(np.int64))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        if i < -len(self) or i >= len(self):
            raise IndexError(f"{i} out of range")
        return self.features[i], self.targets[i]
'''

# pandas .iloc column selection by position (df.columns.get_loc), torch.from_numpy(...astype(np.float32)).
EX1_ILOC_GET_LOC = '''
import pandas as pd


class MyTabularDataset(Dataset):
    """Standardised rows of a numeric CSV file, with an integer class target."""

    def __init__(self, csv_path, target_column="target", mean=None, std=None):
        df = pd.read_csv(csv_path)
        try:
            t = df.columns.get_loc(target_column)
        except KeyError:
            raise ValueError(f"target_column={target_column!r} not in the file") from None
        cols = [i for i in range(df.shape[1]) if i != t]
        X = df.iloc[:, cols].to_numpy(dtype=np.float64)
        m = X.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float64)
        s = X.std(axis=0) if std is None else np.asarray(std, dtype=np.float64)
        self.mean = torch.from_numpy(m.astype(np.float32))
        self.std = torch.from_numpy(s.astype(np.float32))
        s = np.where(s == 0, 1.0, s)
        self.X = torch.from_numpy(((X - m) / s).astype(np.float32))
        self.y = torch.from_numpy(df.iloc[:, t].to_numpy().astype(np.int64))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.X[idx], self.y[idx]
'''

# The PyTorch AMP examples' accumulation (torch.amp docs, "Gradient accumulation"): GradScaler
# (disabled on this CPU run, so scale() and step() pass straight through), loss / iters_to_accumulate.
EX3_AMP_DOCS = '''
def accumulated_step(model, criterion, optimizer, x, y, accumulation_steps):
    """One optimiser step on (x, y), accumulating gradients over equal micro-batches."""
    model.train()
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    optimizer.zero_grad()
    iters_to_accumulate = accumulation_steps
    running = 0.0
    for input, target in zip(torch.tensor_split(x, iters_to_accumulate), torch.tensor_split(y, iters_to_accumulate)):
        output = model(input)
        loss = criterion(output, target)
        loss = loss / iters_to_accumulate
        scaler.scale(loss).backward()
        running += loss.item()
    scaler.step(optimizer)
    scaler.update()
    return running
'''

# karpathy/nanoGPT train.py's micro-steps (`for micro_step in range(gradient_accumulation_steps)`),
# slicing the batch; zero_grad(set_to_none=True) moved to the start as the task asks.
EX3_NANOGPT_MICRO_STEPS = '''
def accumulated_step(model, criterion, optimizer, x, y, accumulation_steps):
    """One optimiser step on (x, y), accumulating gradients over equal micro-batches."""
    model.train()
    gradient_accumulation_steps = accumulation_steps
    B = x.shape[0] // gradient_accumulation_steps
    optimizer.zero_grad(set_to_none=True)
    lossf = 0.0
    for micro_step in range(gradient_accumulation_steps):
        X, Y = x[micro_step * B:(micro_step + 1) * B], y[micro_step * B:(micro_step + 1) * B]
        logits = model(X)
        loss = criterion(logits, Y)
        loss = loss / gradient_accumulation_steps  # scale the loss to account for gradient accumulation
        loss.backward()
        lossf += loss.item()
    optimizer.step()
    return lossf
'''

# pytorch/tutorials cifar10_tutorial.py "Training on GPU": torch.device("cuda:0" if ... else "cpu")
# (mps added, as the exercise asks) and `inputs, labels = data[0].to(device), data[1].to(device)`.
EX4_CIFAR10_TUTORIAL = '''
def get_device():
    """The best available device: cuda, then mps, then cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda:0")
    return torch.device("mps" if torch.backends.mps.is_available() else "cpu")


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    """Train for `epochs` on `device`, evaluating after each; return the per-epoch history."""
    net = model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(epochs):  # loop over the dataset multiple times
        net.train()
        running_loss = 0.0
        for i, data in enumerate(train_loader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data[0].to(device), data[1].to(device)
            # zero the parameter gradients
            optimizer.zero_grad()
            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        history["train_loss"].append(running_loss / len(train_loader))
        net.eval()
        correct = 0
        total = 0
        test_loss = 0.0
        # since we're not training, we don't need to calculate the gradients for our outputs
        with torch.no_grad():
            for data in test_loader:
                images, labels = data[0].to(device), data[1].to(device)
                outputs = net(images)
                test_loss += criterion(outputs, labels).item()
                _, predicted = torch.max(outputs, 1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        history["test_loss"].append(test_loss / len(test_loader))
        history["test_acc"].append(correct / total)
    return history
'''

# Lightning's configure_optimizers return value ({"optimizer": ..., "lr_scheduler": {"scheduler": ...,
# "interval": "epoch"}}), driven by a plain loop that steps an "epoch" scheduler after each epoch.
EX2_LIGHTNING_CONFIG = '''
def _configure_optimizers(model, lr, epochs, cosine):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if not cosine:
        return {"optimizer": optimizer}
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "frequency": 1}}


def compare_schedulers(make_model, train_loader, test_loader, epochs=50, lr=1e-3, seed=0):
    """Train with a constant and with a cosine-annealed learning rate; return both histories."""
    histories = {}
    for name in ("constant", "cosine"):
        torch.manual_seed(seed)
        model = make_model()
        config = _configure_optimizers(model, lr, epochs, cosine=name == "cosine")
        optimizer, sched_cfg = config["optimizer"], config.get("lr_scheduler")
        criterion = nn.CrossEntropyLoss()
        h = {"lr": [], "train_loss": [], "test_loss": [], "test_acc": []}
        for epoch in range(epochs):
            h["lr"].append(optimizer.param_groups[0]["lr"])
            train_loss, _ = train_epoch(model, train_loader, criterion, optimizer)
            val_loss, val_acc = evaluate(model, test_loader, criterion)
            h["train_loss"].append(train_loss)
            h["test_loss"].append(val_loss)
            h["test_acc"].append(val_acc)
            if sched_cfg and sched_cfg["interval"] == "epoch" and (epoch + 1) % sched_cfg["frequency"] == 0:
                sched_cfg["scheduler"].step()
        histories[name] = h
    return histories
'''

CORRECT += [
    Sample("public_ex1_kaggle_pop", "Exercise 1 (correct, the Kaggle tabular idiom): DataFrame.pop(target), "
           "statistics in torch, masked_fill for a zero std", {"ex1_solution": EX1_KAGGLE_POP}),
    Sample("public_ex1_genfromtxt_names", "Exercise 1 (correct, NumPy genfromtxt(names=True)): a structured array, "
           "np.column_stack of the feature fields", {"ex1_solution": EX1_GENFROMTXT_NAMES}),
    Sample("public_ex1_iloc_get_loc", "Exercise 1 (correct, pandas by position): df.columns.get_loc, .iloc[:, cols], "
           "torch.from_numpy(... .astype(np.float32))", {"ex1_solution": EX1_ILOC_GET_LOC}),
    Sample("public_ex3_amp_docs", "Exercise 3 (correct, the torch.amp docs' gradient accumulation): a disabled "
           "GradScaler, scaler.step(optimizer), torch.tensor_split", {"ex3_solution": EX3_AMP_DOCS}),
    Sample("public_ex3_nanogpt_micro_steps", "Exercise 3 (correct, karpathy/nanoGPT micro-steps): slices per "
           "micro_step, zero_grad(set_to_none=True) moved to the start", {"ex3_solution": EX3_NANOGPT_MICRO_STEPS}),
    Sample("public_ex4_cifar10_tutorial", "Exercise 4 (correct, pytorch/tutorials cifar10 'Training on GPU'): "
           "cuda:0, data[0].to(device), torch.max(outputs, 1)", {"ex4_solution": EX4_CIFAR10_TUTORIAL}),
    Sample("public_ex2_lightning_config", "Exercise 2 (correct, Lightning's configure_optimizers dict): an "
           "'epoch'-interval scheduler stepped by the loop", {"ex2_solution": EX2_LIGHTNING_CONFIG}),
]

MISTAKES += [
    Sample("ex3_zero_grad_after_step", "Exercise 3: the forums' and nanoGPT's order, step() then zero_grad() at "
           "the end: gradients already in .grad when the function is called join its step",
           {"ex3_solution": [("    optimizer.zero_grad()\n    total = 0.0\n", "    total = 0.0\n"),
                             ("    optimizer.step()\n    return total", "    optimizer.step()\n    optimizer.zero_grad()\n    return total")]},
           loses=("ex3",), fails=(_CLEARS,)),
]

# ---------------------------------------------------------------------------
# More of Cells 2, 3 and 6 and Exercise 3 (two public answers for each guided cell, five for Exercise 3)
# ---------------------------------------------------------------------------

# pytorch/tutorials, beginner_source/blitz/neural_networks_tutorial.py: class Net, torch.flatten(x, 1),
# F.relu in forward (the contract's nn.ReLU sub-module added, unused, as the smallest honest edit);
# count_parameters as the forum answer filters, with numel() instead of np.prod.
CELL2_BLITZ_NET = '''
import torch.nn.functional as F


class SimpleMLP(nn.Module):
    """Two linear layers with a ReLU between them; returns logits."""

    def __init__(self, input_size, hidden_size, output_size):
        super(SimpleMLP, self).__init__()
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = torch.flatten(x, 1)  # flatten all dimensions except the batch dimension
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def count_parameters(model):
    """Number of trainable parameters of `model`, as an int."""
    model_parameters = filter(lambda p: p.requires_grad, model.parameters())
    return sum(p.numel() for p in model_parameters)
'''

# d2l-ai/d2l-en, chapter_linear-regression/linear-regression-concise.md: load_array(data_arrays,
# batch_size, is_train=True) over a TensorDataset; the task's make_classification and split.
CELL3_D2L_LOAD_ARRAY = '''
from torch.utils import data


def _load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


_features, _labels = make_classification(n_samples=1000, n_features=10, n_informative=5, random_state=42)
_X_tr, _X_te, _y_tr, _y_te = train_test_split(_features, _labels, test_size=0.2, random_state=42)
X_train, X_test = torch.tensor(_X_tr, dtype=torch.float32), torch.tensor(_X_te, dtype=torch.float32)
y_train, y_test = torch.tensor(_y_tr, dtype=torch.long), torch.tensor(_y_te, dtype=torch.long)
batch_size = 32
train_loader = _load_array((X_train, y_train), batch_size)
test_loader = _load_array((X_test, y_test), batch_size, is_train=False)
'''

# pytorch/tutorials, beginner_source/examples_tensor/polynomial_numpy.py: the backward pass by hand,
# an upstream gradient times the local derivative of each term (grad_y_pred, grad_a = grad_y_pred.sum(),
# grad_b = (grad_y_pred * x).sum()); here the upstream gradient of y itself is 1.
CELL6_POLYNOMIAL_NUMPY = '''
def manual_gradients(w1, w2, b, x1, x2):
    """(dy/dw1, dy/dw2, dy/db) for y = w1*x1 + w2*x2 + b, derived by hand."""
    # Backprop to compute gradients of w1, w2, b with respect to y
    grad_y = 1.0
    grad_w1 = grad_y * x1
    grad_w2 = grad_y * x2
    grad_b = grad_y
    return grad_w1, grad_w2, grad_b
'''

# cs231n's affine_backward (assignment 2, layers.py): dw = x.T.dot(dout), db = np.sum(dout, axis=0), for
# one sample (N = 1) and one output (M = 1), dout = 1.
CELL6_CS231N_AFFINE_BACKWARD = '''
def _affine_backward(dout, x):
    """x: (N, D) inputs, dout: (N, M) upstream derivative; returns (dw, db)."""
    dw = x.T.dot(dout)
    db = np.sum(dout, axis=0)
    return dw, db


def manual_gradients(w1, w2, b, x1, x2):
    """(dy/dw1, dy/dw2, dy/db) for y = w1*x1 + w2*x2 + b, derived by hand."""
    x = np.array([[float(x1), float(x2)]])
    dw, db = _affine_backward(np.ones((1, 1)), x)
    return dw[0, 0], dw[1, 0], db[0]
'''

# The gradient-accumulation loop of Thomas Wolf's "Training Neural Nets on Larger Batches" (and
# Kozodoi's "Gradient Accumulation in PyTorch"): loss / accumulation_steps, step and zero_grad when
# (i + 1) % accumulation_steps == 0 or at the last batch; micro-batches from torch.split, and the
# zero_grad that the gist puts before its loop kept there.
EX3_WOLF_ACCUMULATION = '''
def accumulated_step(model, criterion, optimizer, x, y, accumulation_steps):
    """One optimiser step on (x, y), accumulating gradients over equal micro-batches."""
    model.train()
    micro = x.shape[0] // accumulation_steps
    batches = list(zip(torch.split(x, micro), torch.split(y, micro)))
    model.zero_grad()                                   # Reset gradients tensors
    total = 0.0
    for i, (inputs, labels) in enumerate(batches):
        predictions = model(inputs)                     # Forward pass
        loss = criterion(predictions, labels)           # Compute loss function
        loss = loss / accumulation_steps                # Normalize our loss (if averaged)
        loss.backward()                                 # Backward pass
        total += loss.item()
        if (i + 1) % accumulation_steps == 0 or i + 1 == len(batches):  # Wait for several backward steps
            optimizer.step()                            # Now we can do an optimizer step
            model.zero_grad()                           # Reset gradients tensors
    return total
'''

CORRECT += [
    Sample("public_cell2_blitz_net", "Cell 2 (correct, the 60-minute blitz's Net): torch.flatten(x, 1), F.relu in "
           "forward, count_parameters over filter(requires_grad)", {"cell2_solution": CELL2_BLITZ_NET}),
    Sample("public_cell3_d2l_load_array", "Cell 3 (correct, d2l's load_array): TensorDataset(*data_arrays), "
           "shuffle=is_train", {"cell3_solution": CELL3_D2L_LOAD_ARRAY}),
    Sample("public_cell6_polynomial_numpy", "Cell 6 (correct, the polynomial_numpy tutorial's backward by hand): "
           "upstream gradient times each local derivative", {"cell6_solution": CELL6_POLYNOMIAL_NUMPY}),
    Sample("public_cell6_cs231n_affine", "Cell 6 (correct, cs231n's affine_backward): dw = x.T.dot(dout), "
           "db = np.sum(dout, axis=0), NumPy floats returned", {"cell6_solution": CELL6_CS231N_AFFINE_BACKWARD}),
    Sample("public_ex3_wolf_accumulation", "Exercise 3 (correct, Thomas Wolf's larger-batches gist): "
           "model.zero_grad() first, loss / accumulation_steps, step when (i + 1) % k == 0",
           {"ex3_solution": EX3_WOLF_ACCUMULATION}),
]

MISTAKES += [
    Sample("cell2_counts_frozen", "Cell 2: count_parameters as rasbt/LLMs-from-scratch counts a model's size, "
           "sum(p.numel() for p in model.parameters()): frozen parameters counted too",
           {"cell2_solution": [("    return sum(p.numel() for p in model.parameters() if p.requires_grad)",
                                "    total_params = sum(p.numel() for p in model.parameters())\n"
                                "    return total_params")]},
           loses=("cell2",), fails=("cell2_tests_count",)),
]

# ---------------------------------------------------------------------------
# Cell 1: computed, not typed in (the values alone cannot tell; the test runs the cell again)
# ---------------------------------------------------------------------------

# The torch.func docs (func.api.rst, "grad"): grad(f)(x) of a Python function; torch.add for the sum.
CELL1_FUNC_GRAD = '''
broadcast_result = torch.add(torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([5.0, 6.0, 7.0]))


def _f(x):
    return x ** 2 + 3 * x + 1


dydx = torch.func.grad(_f)(torch.tensor(2.0))
'''

# The course's own variant (not from public code): torch.autograd.backward(tensors) instead of the
# method, the column made by reshape, prints in the cell. The two mistakes are the typed-in answers
# that issue 19 names.
CELL1_AUTOGRAD_BACKWARD = '''
_col = torch.arange(3.0).reshape(3, 1)
_row = torch.arange(3.0)
broadcast_result = _col + _row
print(broadcast_result)
_x = torch.tensor(2.0, requires_grad=True)
_y = _x ** 2 + 3 * _x + 1
torch.autograd.backward(_y)
dydx = _x.grad
print("dy/dx:", dydx)
'''

CORRECT += [
    Sample("public_cell1_func_grad", "Cell 1 (correct, the torch.func docs): torch.func.grad(f)(x), torch.add "
           "for the broadcast", {"cell1_solution": CELL1_FUNC_GRAD}),
    Sample("cell1_autograd_backward", "Cell 1 (correct): torch.autograd.backward(y), the column made by reshape, "
           "prints in the cell", {"cell1_solution": CELL1_AUTOGRAD_BACKWARD}),
]

MISTAKES += [
    Sample("cell1_typed_in_broadcast", "Cell 1: broadcast_result typed in by hand (torch.ones(3, 3) is an outer sum "
           "too, but no broadcast made it)",
           {"cell1_solution": [("broadcast_result = torch.tensor([[1.0], [2.0], [3.0]]) + torch.tensor([10.0, 20.0, 30.0])",
                                "broadcast_result = torch.ones(3, 3)")]},
           loses=("cell1",), fails=("cell1_tests_broadcast",)),
    Sample("cell1_typed_in_dydx", "Cell 1: dydx typed in as torch.tensor(7.0) after working the derivative out by hand",
           {"cell1_solution": [("_y.backward()\ndydx = _x.grad", "dydx = torch.tensor(2 * 2.0 + 3)")]},
           loses=("cell1",), fails=("cell1_tests_autograd",)),
]
