"""Cell 1's visible tests tell a value computed by broadcasting and by autograd from one typed in.

The values alone cannot: `torch.ones(3, 3)` is an outer sum and `torch.tensor(7.0)` equals the
derivative. The tests run the student's solution cell again (its text from IPython's `In`) under a
torch function mode: one that records every operation on a (3, 1) and a (3,) tensor, and one that
doubles every gradient autograd returns. Here the test cells run in a plain namespace with `In`
filled as IPython fills it, in seconds, on every correct way the suite knows and on the typed-in
mistakes; the grader suite grades the same samples with real nbgrader.
"""

import pytest

from coursetools import SOURCE_NB
from coursetools import notebooks as nbs
from sample_submissions import public

CELLS = {c.get("id"): c.source for c in nbs.read(SOURCE_NB).cells}
SETUP = CELLS["setup"]
REFERENCE = "\n".join(line for line in CELLS["cell1-solution"].splitlines() if not line.startswith("### "))

CORRECT = {
    "reference": REFERENCE,
    "d2l": public.CELL1_D2L,
    "autograd.grad": public.CELL1_AUTOGRAD_GRAD,
    "torch.func.grad": public.CELL1_FUNC_GRAD,
    "autograd.backward": public.CELL1_AUTOGRAD_BACKWARD,
    "x.grad.clone()": REFERENCE.replace("dydx = _x.grad", "dydx = _x.grad.clone()"),
    "backward(gradient)": REFERENCE.replace("_y.backward()", "_y.backward(torch.tensor(1.0))"),
    "b + a, in a helper": "def _outer(a, b):\n    return b + a\n\n"
                          "broadcast_result = _outer(torch.ones(3, 1), torch.arange(3.0))\n"
                          + REFERENCE.split("\n", 1)[1],
}


def _run(solution, *tests):
    """The setup cell, `solution` and the test cells, in order, in one namespace with IPython's `In`."""
    ns = {"In": [""]}
    for source in (SETUP, solution, *tests):
        ns["In"].append(source)
        exec(compile(source, "<cell>", "exec"), ns)
    return ns


@pytest.mark.parametrize("name", CORRECT)
def test_every_correct_way_passes_and_is_really_run_again(name):
    ns = _run(CORRECT[name], CELLS["cell1-tests-broadcast"])
    assert ns["_again"] is not None, "the broadcast test found and re-ran the solution cell"
    ns["In"].append(CELLS["cell1-tests-autograd"])
    exec(compile(CELLS["cell1-tests-autograd"], "<cell>", "exec"), ns)
    assert ns["_again"] is not None and abs(float(ns["_again"]["dydx"].reshape(-1)[0]) - 14.0) < 1e-6


@pytest.mark.parametrize("typed, test, message", [
    (REFERENCE.replace("torch.tensor([[1.0], [2.0], [3.0]]) + torch.tensor([10.0, 20.0, 30.0])",
                       "torch.tensor([[11.0, 21.0, 31.0], [12.0, 22.0, 32.0], [13.0, 23.0, 33.0]])"),
     "cell1-tests-broadcast", "not typed in"),
    (REFERENCE.replace("torch.tensor([[1.0], [2.0], [3.0]]) + torch.tensor([10.0, 20.0, 30.0])", "torch.ones(3, 3)"),
     "cell1-tests-broadcast", "not typed in"),
    (REFERENCE.replace("dydx = _x.grad", "dydx = torch.tensor(7.0)"), "cell1-tests-autograd", "not typed in"),
    (REFERENCE.replace("dydx = _x.grad", "dydx = 2 * _x.detach() + 3"), "cell1-tests-autograd", "worked out by hand"),
])
def test_a_value_typed_in_or_worked_out_by_hand_fails_with_its_reason(typed, test, message):
    tests = [CELLS["cell1-tests-broadcast"]] if test == "cell1-tests-autograd" else []
    with pytest.raises(AssertionError, match=message):
        _run(typed, *tests, CELLS[test])


def test_where_the_cell_cannot_run_again_the_value_alone_is_judged():
    """A solution that fails on a second run (it asserts on state its first run left) is judged on its
    values, as before: the re-run is a second check, never a new way to lose a correct answer."""
    once = REFERENCE + "\nassert '_ran' not in globals()\n_ran = True\n"
    ns = _run(once, CELLS["cell1-tests-broadcast"], CELLS["cell1-tests-autograd"])
    assert ns["_again"] is None
