"""How make test shares the files between its two pytest-xdist workers (tests/workers.py): a class
fixture is graded once (its users are one unit of work), a file never straddles two workers, and the
longest units start first."""

from types import SimpleNamespace

import workers


def _item(nodeid, *fixtures):
    return SimpleNamespace(nodeid=nodeid, fixturenames=["tmp_path", *fixtures])


def test_the_users_of_robust_class_are_one_unit_and_every_other_file_its_own():
    units = {f: workers.group_of(f) for f in ("tests/test_browser.py", "tests/test_class_grading.py",
                                              "tests/test_trust.py")}
    assert set(units.values()) == {"tests/test_browser.py"}
    assert workers.group_of("tests/test_grader_suite.py") == "tests/test_grader_suite.py"
    assert workers.group_of("notebooks/pytorch_fundamentals.ipynb") == "notebooks/pytorch_fundamentals.ipynb"
    assert workers.file_of("notebooks/pytorch_fundamentals.ipynb::Cell 12") == "notebooks/pytorch_fundamentals.ipynb"


def test_a_new_user_of_a_shared_class_in_another_unit_is_named():
    items = [_item("tests/test_browser.py::test_x", "robust_class"), _item("tests/test_trust.py::test_t", "robust_class"),
             _item("tests/test_grader_suite.py::test_g", "graded_class")]
    assert workers.split_classes(items) == []
    problems = workers.split_classes([*items, _item("tests/test_new.py::test_n", "robust_class")])
    assert problems == ["robust_class is used by tests/test_browser.py, tests/test_new.py, tests/test_trust.py: "
                        "list them together in tests/workers.py SAME_WORKER"]


def test_the_longest_units_come_first_with_each_unit_together():
    files = ["tests/test_a.py", "tests/test_browser.py", "tests/test_class_grading.py",
             "tests/test_grader_suite.py", "tests/test_trust.py", "notebooks/pytorch_fundamentals.ipynb"]
    order = workers.worker_order(files)
    assert order[0] == workers.LONGEST_FIRST[0] == "tests/test_grader_suite.py"
    assert order[1:4] == ["tests/test_browser.py", "tests/test_class_grading.py", "tests/test_trust.py"]
    assert order[4:] == ["tests/test_a.py", "notebooks/pytorch_fundamentals.ipynb"], "the rest keep their order"

