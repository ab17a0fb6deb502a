import io

from demo.tables import print_table


def test_columns_are_as_wide_as_their_widest_cell_and_lines_do_not_end_in_spaces() -> None:
    out = io.StringIO()
    print_table([("a", "longer", ""), ("bbb", "x", "")], out, header=("h", "h2", "h3"))
    assert out.getvalue() == "h    h2      h3\na    longer\nbbb  x\n"


def test_nothing_to_print() -> None:
    out = io.StringIO()
    print_table([], out)
    assert out.getvalue() == ""
