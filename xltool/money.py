"""Money as the forms state it: amounts in 万元, compared within one tolerance, and costs
read from the text a department wrote.

Budgets are printed to two decimals of 万元 (a hundred yuan), so two amounts that
round to the same printed figure are the same amount everywhere: in the ledger's
own sums, in a return's costs against its total, and in reconciliation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from xltool.text import normalise_text

if TYPE_CHECKING:
    from xltool.values import TargetValue

TOLERANCE = Decimal("0.005")

AMOUNT_FORMAT = "#,##0.00"
"""How every workbook xltool writes shows an amount in 万元: template (form and cover),
feedback and collect summary, reconcile report, disclosure (its hidden data sheets too).
The cell keeps the exact number; only its display is fixed.

Decided from the seeds and the ledger. The published tables either print whole 万元 as
typed (`20`, `263`: Word tables, seeds 000 and 001) or print every amount with the same
number of decimals (`2.000000`, `2.500000`: a budget system's export, seed 002): a table of
figures fixes its decimals, it does not show `2` beside `2.5`. Two decimals, because the
ledger is kept to 0.01 万元 (samples/ledger.xlsx is formatted `#,##0.00`), and TOLERANCE
calls amounts that agree to 0.01 万元 equal: a figure printed to that precision shows every
difference xltool acts on and none it ignores. Six decimals (the fen) would print `20.000000`
for precision nobody compares.

The unit stays 万元 even when the ledger was kept in 元 (`--yuan`): the ledger is read into
万元 and every form, report and disclosure states 万元, so a 元 ledger's 123,456.78 shows as
12.35 with the exact 12.345678 in the cell. No workbook shows amounts in 元."""


def shown_wan(amount: Decimal) -> str:
    """10.00 → 10, 5.50 → 5.5: an amount as a clerk writes it, never in exponent form."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# A sum of money written in text: `5万元`, `3.5 万`, `20000元`.
MONEY_IN_TEXT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(万元|万|元)")


class Cost(NamedTuple):
    """A cost target's amount in 万元 (None when it names no one sum), whether it was a
    bare number, taken as 万元, and whether it was written in 元: what a clerk is told
    about how it was counted."""

    wan: Decimal | None
    unitless: bool = False
    in_yuan: bool = False


def cost_in_wan(text: str, *, value_field: bool,
                parse: Callable[[str], TargetValue] | None = None) -> Cost:
    """A cost target in 万元: what collect's cost rule checks and reconciliation sums.

    With a value column the value is parsed (PARSE may be a cached `parse_value`) and a
    bare number counts as 万元; without one (weighted forms) the indicator text must name
    exactly one sum, with its unit.
    """
    if not value_field:
        found = MONEY_IN_TEXT.findall(normalise_text(text))
        if len(found) != 1:
            return Cost(None)
        number, unit = Decimal(found[0][0]), found[0][1]
        return Cost(number / 10000 if unit == "元" else number, in_yuan=unit == "元")
    if parse is None:
        from xltool.values import parse_value  # here: the command line reads TOLERANCE only

        parse = parse_value
    parsed = parse(text)
    money = parsed.money_in_wan()
    if money is not None:
        return Cost(money, in_yuan=parsed.unit == "元")
    if len(parsed.numbers) == 1 and parsed.unit is None:
        return Cost(parsed.numbers[0], unitless=True)
    return Cost(None)
