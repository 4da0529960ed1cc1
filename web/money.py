"""Money and rates as finance people read them: the one formatting module of every page and chart.

SPEC section 7: money shows the reporting currency (``REPORTING_CURRENCY``).

- ``compact``: cards and chart axes, one decimal at most: ``$87.5M``, ``€1.2K``, ``$950``;
- ``full``: tables and figures, whole units unless the cents are not zero: ``$87,539,250``,
  ``$1,234.50``;
- ``change``: a movement with its sign, ``+$1,200`` / ``-$300`` (and a CSS class for its colour);
- ``percent``: a rate with one decimal, rounded half up: ``108.3%``;
- ``chart_format``: what the charts' JavaScript gives ``Intl.NumberFormat`` so that their axes
  and tooltips follow these same rules (static/js/charts.js, static/js/reasons-pareto.js).

Numbers are laid out by Babel (CLDR data) in the active Django language's locale; undefined
values are a dash, never 0. Amounts are Decimal (never float) up to the layout.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, format_compact_currency, get_currency_symbol, parse_pattern
from django.conf import settings
from django.utils.translation import get_language, to_locale

from metrics import rounding

DASH = "—"
WHOLE = "¤#,##0"  # CLDR patterns: the currency sign, grouping, no decimals
WITH_CENTS = "¤#,##0.00"


def locale() -> str:
    """The Babel locale of the active language (Django's localization): en-us -> en_US."""
    return to_locale(get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=8)
def _pattern(text: str) -> NumberPattern:
    """Parsed once: a table of 100 accounts formats hundreds of amounts."""
    return parse_pattern(text)


@lru_cache(maxsize=8)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def currency() -> str:
    return settings.REPORTING_CURRENCY


def symbol(code: str | None = None) -> str:
    return get_currency_symbol(code or currency(), locale=locale())


def _amount(value) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def full(value, code: str | None = None) -> str:
    """``$87,539,250``; ``$1,234.50`` when the cents are not zero; ``-$300`` below zero."""
    amount = _amount(value)
    if amount is None:
        return DASH
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    pattern = _pattern(WHOLE if amount == amount.to_integral_value() else WITH_CENTS)
    return pattern.apply(amount, _locale(locale()), currency=code or currency(), currency_digits=False)


def compact(value, code: str | None = None) -> str:
    """``$87.5M``, ``€1.2K``, ``$950``: at most one decimal, for cards and chart axes."""
    amount = _amount(value)
    if amount is None:
        return DASH
    if abs(amount) < 1000:
        return full(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP), code)
    return format_compact_currency(amount, code or currency(), locale=locale(), fraction_digits=1)


def change(value, code: str | None = None) -> str:
    """A movement: ``+$1,200``, ``-$300``, ``$0``."""
    amount = _amount(value)
    if amount is None:
        return DASH
    text = full(amount, code)
    return f"+{text}" if amount > 0 else text


def change_class(value) -> str:
    """The colour of a movement: ``neg`` below zero, ``pos`` above, nothing for none."""
    amount = _amount(value)
    if not amount:
        return ""
    return "neg" if amount < 0 else "pos"


def percent(value) -> str:
    """A ratio as a percentage with one decimal, half up: 1.0834 -> ``108.3%``; None -> a dash."""
    shown = rounding.percent(value)
    return DASH if shown is None else f"{shown:,}%"


def chart_format() -> dict:
    """For the charts' JavaScript: ``Intl.NumberFormat(locale, {style: "currency", currency})``
    with ``notation: "compact"`` and one decimal on axes, whole units (cents when not zero) in
    tooltips, as ``compact`` and ``full`` do here."""
    return {"locale": locale().replace("_", "-"), "currency": currency()}
