"""How figures look on a page: money with two decimals, rates as percentages, a dash when undefined."""

from datetime import date
from decimal import Decimal

from django import template

from metrics import rounding
from metrics.vocabulary import MONTH, TTM

register = template.Library()

DASH = "—"


@register.filter
def money(value) -> str:
    """1234567.5 -> '1,234,567.50'; None -> a dash."""
    if value is None or value == "":
        return DASH
    return f"{Decimal(value):,.2f}"


@register.filter
def rate(value) -> str:
    """A ratio as a percentage with one decimal, half up: 1.0834 -> '108.3%'; undefined -> a dash."""
    shown = rounding.percent(value)
    return DASH if shown is None else f"{shown:,}%"


percent = register.filter("percent", rate)  # the reason pages' shares and coverage


@register.filter
def count(value) -> str:
    return DASH if value is None else f"{value:,}"


@register.filter
def signed_money(value) -> str:
    """A change: '+1,200.00', '-300.00', or '0.00' for none."""
    if value is None:
        return DASH
    return f"{Decimal(value):+,.2f}" if value else f"{Decimal(value):,.2f}"


def month_label(day: date) -> str:
    return day.strftime("%b %Y")


@register.simple_tag
def period_label(granularity: str, start: date, end: date) -> str:
    """'Oct 2026' for a month, 'Oct 2026 – Dec 2026' for a quarter, a year or a TTM window."""
    if granularity == MONTH:
        return month_label(start)
    prefix = "TTM " if granularity == TTM else ""
    return f"{prefix}{month_label(start)} – {month_label(end)}"


@register.filter
def period_of(row) -> str:
    """The period label of a snapshot or movement row."""
    return period_label(row.granularity, row.period_start, row.period_end)


@register.filter
def minus(value, other):
    """value - other, for an account's change over a period (ending minus starting ARR)."""
    return value - other
