"""A cell as text: the one definition the ledger, the targets workbook and collect share."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xltool.text import cell_text, shown_number


@pytest.mark.parametrize(("value", "text"), [
    (812.0, "812"), (0.1, "0.1"), (5.5, "5.5"), (1e-05, "0.00001"), (1e16, "10000000000000000"),
    (Decimal("1E+2"), "100"), (Decimal("2.000000"), "2.000000"), (True, "TRUE"),
    (datetime(2024, 1, 31), "2024-01-31"), (datetime(2024, 1, 31, 8, 30), "2024-01-31 08:30:00"),
    (date(2024, 1, 31), "2024-01-31"), ("\u3000 明显 ", "明显"), (None, ""), (7, "7"),
])
def test_a_cell_reads_as_the_clerk_sees_it(value: object, text: str) -> None:
    assert cell_text(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_never_shows_an_exponent_and_keeps_its_value(value: float) -> None:
    shown = shown_number(value)
    assert "e" not in shown.lower()
    assert Decimal(shown) == Decimal(repr(value))
