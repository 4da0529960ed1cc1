"""Currency codes and exchange rates (SPEC section 7), shared by the import, the API, the admin
pages and the recompute. No ORM here except ``rates_for_engine`` (one small read).

Conversion rule (the one place it is stated): a line's ARR converts at the rate in force on the
day asked (a period's first day; a case's day; today for "ARR today"), and the converted amount
is rounded once, half up to the cent, per line and per rate day; sums are of those cents. So the
figures, the accounts behind them and their totals agree to the cent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_name, list_currencies
from django.conf import settings

from .engine import RATE_DECIMALS, Rates, rate_units

MAX_RATE = Decimal(10) ** 9  # the model's field: 18 digits, 9 of them decimals


@lru_cache(maxsize=1)
def iso_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def reporting_currency() -> str:
    return settings.REPORTING_CURRENCY


def parse_code(value: str) -> str:
    """An ISO 4217 code, any case on input, upper case out (a ValueError saying why otherwise)."""
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"'{value}' is not a three-letter currency code such as USD")
    if code not in iso_codes():
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return code


def parse_rate(value) -> Decimal:
    """A rate: a plain decimal above zero with at most RATE_DECIMALS decimals."""
    try:
        rate = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"'{value}' is not a number; write a rate like 1.0834") from None
    if not rate.is_finite():
        raise ValueError(f"'{value}' is not a number; write a rate like 1.0834")
    if rate <= 0:
        raise ValueError(f"the rate {value} must be above zero")
    if rate >= MAX_RATE:
        raise ValueError(f"the rate {value} is too large")
    rate_units(rate)  # more than RATE_DECIMALS decimals: a ValueError
    return rate


def name(code: str) -> str:
    try:
        return get_currency_name(code, locale="en_US")
    except Exception:
        return code


def needs_rate(code: str) -> bool:
    """Lines in this currency convert (empty and the reporting currency do not)."""
    return bool(code) and code != reporting_currency()


def missing_rate_error(code: str) -> str:
    return (
        f"there is no exchange rate for {code}: add one in fx_rates.csv (currency, valid_from, rate) "
        f"or on the exchange rates page before importing lines in {code}"
    )


def rates_for_engine(rows) -> Rates:
    """(currency, valid_from, rate) rows (``FxRate.live_rates()`` for the live ones) for the engines."""
    return Rates.from_rows(rows, reporting=reporting_currency())


def rate_on(rows: list[tuple[date, Decimal]], day: date) -> Decimal | None:
    """The rate in force on ``day`` among one currency's (valid_from, rate) rows sorted by day."""
    found = None
    for valid_from, rate in rows:
        if valid_from <= day or found is None:
            found = rate
        if valid_from > day:
            break
    return found


__all__ = ["RATE_DECIMALS", "iso_codes", "parse_code", "parse_rate", "rates_for_engine", "reporting_currency"]
