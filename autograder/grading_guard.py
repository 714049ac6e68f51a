"""Restores the grading kernel's state before each graded test cell.

Imported when the grading kernel starts (nbgrader_config.py, exec_lines),
before any student code, it snapshots what student code could change to
alter how a test cell runs or what it reports:

- IPython input transformers, AST transformers and event callbacks,
- custom exception handlers, sys.settrace / sys.setprofile, display and except hooks,
- the attributes of builtins, math, torch, torch.Tensor, torch.nn.functional and torch.testing.

The grader (coursetools.preprocessors.RobustExecute) calls `restore(nonce, name)`
right before every graded test cell and reads the nonce back (as builtins.`name`,
a name the grader's `nonce_name` setting chooses) through a
user expression, which IPython evaluates without input transformers: a
submission that keeps the restore from running is detected.
"""

import builtins
import math
import os
import sys

_SNAPSHOT = {}
_TRUSTED_PREFIXES = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                         os.path.dirname(__file__))})


def _modules():
    import torch
    import torch.nn.functional
    import torch.testing

    return {"builtins": builtins, "math": math, "torch": torch, "torch.Tensor": torch.Tensor,
            "torch.nn.functional": torch.nn.functional, "torch.testing": torch.testing}


def snapshot():
    for name, obj in _modules().items():
        _SNAPSHOT[name] = (obj, dict(vars(obj)))
    _SNAPSHOT["sys"] = (sys.displayhook, sys.excepthook)


def _installed_module(name):
    """The file of module `name` when it is installed code (site-packages, the stdlib, this folder)."""
    path = getattr(sys.modules.get(name or ""), "__file__", None)
    path = os.path.realpath(path) if path else None
    return path if path and path.startswith(_TRUSTED_PREFIXES) else None


def _trusted(obj):
    """A hook from installed code (IPython, ipykernel, matplotlib), not from a notebook cell.

    A function must come from an installed module and be compiled from that module's file (a
    file name alone can be forged with compile()). Any other object (a PromptStripper, an AST
    transformer) is judged by its class, so a notebook's subclass of an installed class is not
    trusted even when it inherits all its methods.
    """
    fn = getattr(obj, "__func__", obj)
    code = getattr(fn, "__code__", None)
    if code is None:
        return _installed_module(getattr(type(obj), "__module__", None)) is not None
    return _installed_module(getattr(fn, "__module__", None)) == os.path.realpath(code.co_filename)


def _restore_namespace(obj, saved):
    """Put back every attribute that was replaced. New attributes stay: no test refers to them,
    and deleting them would break submodules that torch imports lazily."""
    current = vars(obj)
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            try:
                setattr(obj, key, value)
            except (AttributeError, TypeError):
                pass


_MISSING = object()


def restore(nonce, name):
    """Undo what student code may have changed; leave `nonce` where the grader reads it: the
    builtin `name` (RobustExecute.nonce_name)."""
    sys.settrace(None)
    sys.setprofile(None)
    for what, (obj, saved) in _SNAPSHOT.items():
        if what != "sys":
            _restore_namespace(obj, saved)
    sys.displayhook, sys.excepthook = _SNAPSHOT["sys"]
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        shell.input_transformers_cleanup[:] = [f for f in shell.input_transformers_cleanup if _trusted(f)]
        shell.input_transformers_post[:] = [f for f in shell.input_transformers_post if _trusted(f)]
        shell.ast_transformers[:] = [t for t in shell.ast_transformers if _trusted(t)]
        for event, callbacks in shell.events.callbacks.items():
            callbacks[:] = [f for f in callbacks if _trusted(f)]
        shell.set_custom_exc((), None)
    setattr(builtins, name, nonce)


snapshot()
