"""coursetools.tables: the one table renderer of every report."""

from coursetools import tables


def test_columns_are_as_wide_as_their_widest_cell_and_the_last_is_free():
    text = tables.render([("name", "score", "reason"), ("alice", "10", "ok"), ("bob-the-long", "7.5", "a long reason")],
                         right=[1])
    head, rule, alice, bob = text.splitlines()
    assert head == "name          score  reason"
    assert rule == "-" * len(head)
    assert alice == "alice            10  ok"
    assert bob == "bob-the-long    7.5  a long reason"


def test_short_rows_are_padded_and_trailing_space_is_dropped():
    text = tables.render([("a", "b", "c"), ("x",)])
    assert text.splitlines()[2] == "x"


def test_empty_and_scores():
    assert tables.render([]) == ""
    assert [tables.score(v) for v in (10.0, 7.5, 0.0)] == ["10", "7.5", "0"]
