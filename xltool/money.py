"""Money as the forms state it: amounts in 万元, compared within one tolerance.

Budgets are printed to two decimals of 万元 (a hundred yuan), so two amounts that
round to the same printed figure are the same amount everywhere: in the ledger's
own sums, in a return's costs against its total, and in reconciliation.
"""

from __future__ import annotations

from decimal import Decimal

TOLERANCE = Decimal("0.005")
