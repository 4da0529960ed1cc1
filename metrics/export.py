"""The retention export of SPEC section 5, one formatter shared by the API and ``manage.py export_retention``.

``retention_export_row`` gives JSON-ready values (strings for money and rates, ``None`` for empty,
a bool for ``partial``); ``csv_cell`` turns any such value into its CSV text, so the API's CSV
and the command's CSV agree to the byte.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings

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
    # SPEC section 9: whether the period is closed and, for closed periods, the figures as reported.
    "closed",
    "reported_starting_arr",
    "reported_expansion",
    "reported_upsell",
    "reported_cross_sell",
    "reported_contraction",
    "reported_churn",
    "reported_ending_arr",
    "reported_nrr",
    "reported_grr",
    "reported_new_arr",
    "reported_reactivation_arr",
    "currency",  # the reporting currency every amount is in (SPEC section 7), last
]

MONEY_COLUMNS = ("starting_arr", "expansion", "upsell", "cross_sell", "contraction", "churn", "ending_arr")


def money(value: Decimal | None) -> str | None:
    """Two decimals, exact (Decimal formatting never goes through float)."""
    return None if value is None else f"{value:.2f}"


def rate(value: Decimal | None) -> str | None:
    """Four decimals; an undefined rate (starting ARR zero) stays None."""
    return None if value is None else f"{value:.4f}"


def retention_export_row(snapshot, closes=None) -> dict:
    """One RetentionSnapshot as the SPEC section 5 row, keys in RETENTION_COLUMNS order.

    ``closes`` (a ``closing.reported.ReportedLookup``, one per export) fills ``closed`` and the
    ``reported_`` columns; without it a new one is made (fine for a single row)."""
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
    if closes is None:
        from closing.reported import ReportedLookup

        closes = ReportedLookup()
    close = closes.close(snapshot)
    row["closed"] = close is not None
    reported = closes.reported(snapshot) if close is not None else None
    for column in REPORTED_COLUMNS:
        value = getattr(reported, column) if reported is not None else None
        if column in ("nrr", "grr"):
            row[f"reported_{column}"] = rate(value)
        else:  # new and reactivated revenue: company rows only, as above
            row[f"reported_{column}"] = (
                money(value) if company or column not in ("new_arr", "reactivation_arr") else None
            )
    row["currency"] = settings.REPORTING_CURRENCY
    return row


REPORTED_COLUMNS = tuple(c.removeprefix("reported_") for c in RETENTION_COLUMNS if c.startswith("reported_"))


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
