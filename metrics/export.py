"""The retention export of SPEC section 5, one formatter shared by the API and ``manage.py export_retention``.

``retention_export_row`` gives JSON-ready values (strings for money and rates, ``None`` for empty,
a bool for ``partial``); ``csv_cell`` turns any such value into its CSV text, so the API's CSV
and the command's CSV agree to the byte.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .vocabulary import COMPANY

RETENTION_COLUMNS = [
    "period_start",
    "period_end",
    "granularity",
    "partial",
    "scope_type",
    "scope_key",
    "role",
    "starting_arr",
    "expansion",
    "upsell",
    "cross_sell",
    "contraction",
    "churn",
    "ending_arr",
    "nrr",
    "grr",
    "logos_start",
    "logos_churned",
    "new_arr",
    "reactivation_arr",
]

MONEY_COLUMNS = ("starting_arr", "expansion", "upsell", "cross_sell", "contraction", "churn", "ending_arr")


def money(value: Decimal | None) -> str | None:
    """Two decimals, exact (Decimal formatting never goes through float)."""
    return None if value is None else f"{value:.2f}"


def rate(value: Decimal | None) -> str | None:
    """Four decimals; an undefined rate (starting ARR zero) stays None."""
    return None if value is None else f"{value:.4f}"


def retention_export_row(snapshot) -> dict:
    """One RetentionSnapshot as the SPEC section 5 row, keys in RETENTION_COLUMNS order."""
    company = snapshot.scope_type == COMPANY
    row = {
        "period_start": snapshot.period_start.isoformat(),
        "period_end": snapshot.period_end.isoformat(),
        "granularity": snapshot.granularity,
        "partial": bool(snapshot.partial),
        "scope_type": snapshot.scope_type,
        "scope_key": snapshot.scope_key,
        "role": snapshot.role or "",
    }
    for column in MONEY_COLUMNS:
        row[column] = money(getattr(snapshot, column))
    row["nrr"] = rate(snapshot.nrr)
    row["grr"] = rate(snapshot.grr)
    row["logos_start"] = snapshot.logos_start
    row["logos_churned"] = snapshot.logos_churned
    # The ARR bridge's new and reactivated revenue exist for the whole company only.
    row["new_arr"] = money(snapshot.new_arr) if company else None
    row["reactivation_arr"] = money(snapshot.reactivation_arr) if company else None
    return row


# A cell a spreadsheet would run as a formula; a plain number such as -12.50 is data, not a formula.
_FORMULA_FIRST = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value) -> str:
    """CSV text of a JSON-ready value: empty for None, true/false for bools, formulas neutralised."""
    if type(value) is not str:  # strings first and fast: an export writes millions of cells
        if value is None:
            return ""
        if value is True or value is False:
            return "true" if value else "false"
        value = str(value)
    if value and value[0] in _FORMULA_FIRST and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
