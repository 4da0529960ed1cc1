"""How figures look on a page, through ``web.money`` (the one formatting module): money in the
reporting currency, rates as percentages with one decimal, a dash when undefined."""

from datetime import date

from django import template
from django.utils.html import format_html

from metrics.vocabulary import MONTH, TTM
from web import money as formatting

register = template.Library()

DASH = formatting.DASH


@register.filter
def money(value) -> str:
    """Tables and figures: 87539250 -> '$87,539,250', 1234.5 -> '$1,234.50'; None -> a dash."""
    return formatting.full(value)


@register.filter
def money_compact(value) -> str:
    """Cards: 87539250 -> '$87.5M'."""
    return formatting.compact(value)


@register.filter
def money_in(value, code: str) -> str:
    """An amount in its own currency (a contract line's): 1000 EUR -> '€1,000'."""
    return formatting.full(value, code or None)


@register.filter
def rate(value) -> str:
    """A ratio as a percentage with one decimal, half up: 1.0834 -> '108.3%'; undefined -> a dash."""
    return formatting.percent(value)


percent = register.filter("percent", rate)  # the reason pages' shares and coverage


@register.filter
def count(value) -> str:
    return DASH if value is None else f"{value:,}"


@register.filter
def signed_money(value) -> str:
    """A change with its sign and colour: '+$1,200' (green), '-$300' (red), '$0'."""
    if value is None:
        return DASH
    css = formatting.change_class(value)
    return (
        format_html('<span class="chg {}">{}</span>', css, formatting.change(value))
        if css
        else formatting.change(value)
    )


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
