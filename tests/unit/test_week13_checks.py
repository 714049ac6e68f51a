"""autograder/week13_checks: the hidden checks' pure helpers (no kernel, no notebook)."""

import math
from collections import OrderedDict, defaultdict

import numpy as np
import pytest
import torch

from week13_checks import CheckFailed, _pristine as P, _probe, _report, ex2


@pytest.mark.parametrize("a, b, ok", [
    (1.0, 1.0, True), (1.0, 1.0 + 1e-7, True), (1.0, 1.001, False), (0.0, 5e-7, True), (0.0, 1e-5, False),
    (math.nan, math.nan, False), (math.inf, math.inf, False), (3, 3.0, True),
])
def test_close(a, b, ok):
    assert P.close(a, b) is ok


@pytest.mark.parametrize("a, b, ok", [
    ([1.0, 2.0], [1.0, 2.0], True), ([[1.0], [2]], [[1.0], [2.0]], True), ([1.0, 2.0], [1.0, 2.1], False),
    ([1.0], [1.0, 2.0], False), ([1.0], 1.0, False), ((1.0,), (1.0,), False), (True, 1, False),
    ("1.0", 1.0, False), (2.0, 2.0, True),
])
def test_all_close(a, b, ok):
    assert P.all_close(a, b) is ok


@pytest.mark.parametrize("value, ok", [
    ({}, True), (OrderedDict(a=1), True), (defaultdict(list), True), ([("a", 1)], False), (None, False),
])
def test_is_mapping(value, ok):
    assert _report.is_mapping(value) is ok


def test_expect_floats_per_epoch_accepts_a_list_of_floats():
    _report.expect_floats_per_epoch([0.5, 0.25], 2, "history['train_loss']")


@pytest.mark.parametrize("values, message", [
    ([0.5], "should be a list of 2 Python floats (one per epoch), got a list of 1"),
    ((0.5, 0.25), "got a tuple"),
    ([0.5, 1], "should hold Python floats, got int"),
    ([0.5, torch.tensor(0.2)], "should hold Python floats, got Tensor"),
])
def test_expect_floats_per_epoch_rejects(values, message):
    with pytest.raises(CheckFailed, match="history") as info:
        _report.expect_floats_per_epoch(values, 2, "history['train_loss']")
    assert message in str(info.value)


def test_expect_floats_per_epoch_hint():
    with pytest.raises(CheckFailed, match=r"got list \(take \[0\]\)"):
        _report.expect_floats_per_epoch([[0.1], 0.2], 2, "lr", hint=lambda v: " (take [0])")


def test_check_failed_is_one_short_line():
    long = CheckFailed("x" * 1000)
    assert len(str(long)) == 400 and str(long).endswith("...")
    assert CheckFailed("bad").\
        _render_traceback_() == ["Hidden test failed: bad"]


@pytest.mark.parametrize("values", [
    [0.1, 0.2, 0.3], (0.1, 0.2, 0.3), [1, 2, 3], torch.tensor([0.1, 0.2, 0.3]), np.array([0.1, 0.2, 0.3]),
    [np.float32(0.1), torch.tensor(0.2), torch.tensor([0.3])],
])
def test_per_epoch_accepts_numbers_in_everyday_containers(values):
    out = ex2._per_epoch(_probe.describe(values), 3, "lr")
    assert [type(v) for v in out] == [float, float, float]
    assert out == pytest.approx([float(v) for v in np.asarray([float(x) for x in values])], rel=1e-6)


def test_per_epoch_a_one_epoch_scalar_tensor():
    assert ex2._per_epoch(_probe.describe(torch.tensor(0.5)), 1, "lr") == [0.5]


def test_per_epoch_a_list_of_lists_gets_the_get_last_lr_hint():
    with pytest.raises(CheckFailed, match=r"lr should hold Python floats, got list .*get_last_lr\(\) returns a list"):
        ex2._per_epoch(_probe.describe([[0.1], [0.05]]), 2, "lr")


@pytest.mark.parametrize("values", [[0.1, 0.2], torch.tensor([0.1, 0.2]), np.array([0.1, 0.2, 0.3, 0.4])])
def test_per_epoch_wrong_length(values):
    with pytest.raises(CheckFailed, match="should be a list of 3 Python floats .* got . values"):
        ex2._per_epoch(_probe.describe(values), 3, "lr")


@pytest.mark.parametrize("values", [{"a": 0.1}, "0.1,0.2", None])
def test_per_epoch_not_a_sequence(values):
    with pytest.raises(CheckFailed, match="should be a list of 1 Python floats"):
        ex2._per_epoch(_probe.describe(values), 1, "lr")


def test_per_epoch_rejects_a_tensor_with_several_values_per_epoch():
    with pytest.raises(CheckFailed, match="got Tensor"):
        ex2._per_epoch(_probe.describe([torch.tensor([0.1, 0.2])]), 1, "lr")
