"""coursetools.report: the class report's numbers, its grouping of messages, and its page."""

from coursetools import report
from coursetools.grading import PARTS, Result


def _result(student, ex1, failures):
    parts = {p: (5.0, 5.0) for p in PARTS}
    parts["ex1"] = (ex1, 20.0)
    return Result(student, parts, failures)


RESULTS = {
    "a": _result("a", 20, {}),
    "b": _result("b", 12, {"ex1_hidden_statistics": "CheckFailed: std is 1.0132, expected 1.0",
                           "ex1_tests_wine": "AssertionError: std should be 1"}),
    "c": _result("c", 12, {"ex1_hidden_statistics": "CheckFailed: std is 0.9871, expected 1.0"}),
    "d": _result("d", 0, {"ex1_hidden_statistics": "NotImplementedError: ", "ex1_tests_wine": "AssertionError: std",
                          "ex4_tests_basic": "<script>x</script>"}),
}


def test_the_parts_and_the_checks_the_class_missed_most_come_first():
    r = report.build(RESULTS)
    assert r.students == 4 and r.scores["ex1"] == [20, 12, 12, 0] and r.maxima["ex1"] == 20
    rows = {row[0]: row for row in report.part_rows(r)[1:]}
    assert rows["ex1"] == ("ex1", "20", 4, "11.0", "12", 1, 1)
    assert rows["cell1"][5:] == (4, 0)
    checks = report.check_rows(r)[1:]
    assert [c[:2] for c in checks] == [("ex1_hidden_statistics", 3), ("ex1_tests_wine", 2), ("ex4_tests_basic", 1)]
    # messages that differ only in their numbers are one message: 2 of 3, and one other
    assert checks[0][2] == "CheckFailed: std is 1.0132, expected 1.0 (2); 1 other message(s)"


def test_the_page_shows_every_part_escapes_messages_and_draws_a_histogram_each(tmp_path):
    page = report.write(report.build(RESULTS), tmp_path)
    text = page.read_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in text and "<script>x" not in text
    for part in PARTS:
        assert f'alt="histogram of {part}" title="{part}.png"' in text
        assert (tmp_path / f"{part}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.text(report.build(RESULTS)).startswith("class report: 4 graded")
