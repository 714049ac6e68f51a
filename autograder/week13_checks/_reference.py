"""Reference implementations of the contract's training functions.

Hidden checks compare a submission against these, on the same inputs; they never compare against
numbers a student could read off a visible test. Exercise 4's checks run them in the grading
kernel; Exercise 2's grader runs them in its own process for the expected values, and sends this
file's text into the kernel too, where the student's compare_schedulers trains with them
(_ex2_kernel.py). Sent as text, the file has no package: it then uses the builtins.
"""

import contextlib

import torch

try:
    from ._pristine import float, len
except ImportError:  # run from its text in the kernel, as a fixture of Exercise 2
    pass


@contextlib.contextmanager
def one_thread():
    """torch on one thread while a reference run is computed in the grader's process, as in the
    grading kernel (OMP_NUM_THREADS=1): the same sums in the same order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _batch_metrics(model, batch_x, batch_y, criterion):
    outputs = model(batch_x)
    loss = criterion(outputs, batch_y)
    correct = (outputs.argmax(dim=1) == batch_y).sum().item()
    return outputs, loss, correct


def train_epoch(model, loader, criterion, optimizer, device=None):
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for batch_x, batch_y in loader:
        if device is not None:
            batch_x, batch_y = batch_x.to(device), batch_y.to(device)
        _, loss, batch_correct = _batch_metrics(model, batch_x, batch_y, criterion)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        correct += batch_correct
        seen += batch_y.size(0)
    return float(total_loss / len(loader)), float(correct / seen)


def evaluate(model, loader, criterion, device=None):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for batch_x, batch_y in loader:
            if device is not None:
                batch_x, batch_y = batch_x.to(device), batch_y.to(device)
            _, loss, batch_correct = _batch_metrics(model, batch_x, batch_y, criterion)
            total_loss += loss.item()
            correct += batch_correct
            seen += batch_y.size(0)
    return float(total_loss / len(loader)), float(correct / seen)


def fit(model, train_loader, test_loader, criterion, optimizer, epochs, device):
    model.to(device)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for _ in range(epochs):
        train_loss, _ = train_epoch(model, train_loader, criterion, optimizer, device)
        test_loss, test_acc = evaluate(model, test_loader, criterion, device)
        history["train_loss"].append(train_loss)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
    return history
