"""The one rounding rule of every ratio the site computes, shows or exports: half up.

Rates (NRR, GRR, logo retention, reason shares and coverage) keep four decimals (SPEC section
5); pages show them as percentages with one decimal. Plain Python, no Django.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

RATE_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.1")


def half_up(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator to four decimals; undefined (None) when the denominator is zero."""
    if not denominator:
        return None
    return half_up(Decimal(numerator) / Decimal(denominator), RATE_PLACES)


def percent(fraction: Decimal | float | str | None) -> Decimal | None:
    """A ratio as a percentage with one decimal: 1.08345 -> 108.3 (None stays None)."""
    if fraction is None or fraction == "":
        return None
    return half_up(Decimal(str(fraction)) * 100, PERCENT_PLACES)
