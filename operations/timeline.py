"""A customer's contract lines over time, as pure functions (no ORM): the bars of its timeline
and its ARR per product at the end of each month, in integer cents (SPEC section 3: ARR(c, p, d)
sums the lines in force on day d, end dates inclusive). A line in another currency than the
reporting one counts at the rate in force on the day asked (SPEC section 7, ``metrics.engine.Rates``):
each month end's at that month end's rate, today's at today's."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from metrics.engine import NO_RATES, Rates, add_months, convert_cents

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Line:
    external_id: str
    product: str
    start: date
    end: date | None  # last day of service, inclusive; None = open
    arr_cents: int  # in the line's own currency
    currency: str = ""  # "" or the reporting currency: not converted


@dataclass(frozen=True)
class Bar:
    line: Line
    left: float  # percent of the timeline's width
    width: float
    open_end: bool


def timeline_bars(lines: list[Line], today: date) -> tuple[list[Bar], date | None, date | None]:
    """Each line as a bar on one axis from the first start to the last day shown (the latest end,
    or today when a line is open or ends later than today... whichever is later)."""
    if not lines:
        return [], None, None
    first = min(line.start for line in lines)
    last = max([today, *(line.end for line in lines if line.end)])
    days = (last - first).days + 1
    bars = []
    for line in sorted(lines, key=lambda line: (line.start, line.product, line.external_id)):
        end = line.end or last
        left = (line.start - first).days / days * 100
        width = ((end - line.start).days + 1) / days * 100
        bars.append(Bar(line, round(left, 3), round(width, 3), line.end is None))
    return bars, first, last


def month_ends(first: date, today: date) -> list[date]:
    """The last day of every month from ``first``'s to today's; today itself for today's month."""
    ends, month = [], first.replace(day=1)
    while month <= today:
        ends.append(min(add_months(month, 1) - ONE_DAY, today))
        month = add_months(month, 1)
    return ends


def reporting_cents(line: Line, day: date, rates: Rates) -> int:
    """The line's ARR in the reporting currency at the rate in force on ``day`` (rounded once, half up)."""
    if rates.native(line.currency):
        return line.arr_cents
    return convert_cents(line.arr_cents, rates.units_on(line.currency, day))


def arr_on(lines: list[Line], day: date, rates: Rates = NO_RATES) -> int:
    """ARR in reporting-currency cents on ``day``: the lines in force, each converted at that day's rate."""
    return sum(
        reporting_cents(line, day, rates)
        for line in lines
        if line.start <= day and (line.end is None or day <= line.end)
    )


def arr_by_month(lines: list[Line], today: date, rates: Rates = NO_RATES) -> tuple[list[date], dict[str, list[int]]]:
    """(month ends, {product: ARR in reporting-currency cents on each, at each month end's rate})
    from the first line's month to today's."""
    if not lines:
        return [], {}
    ends = month_ends(min(line.start for line in lines), today)
    by_product = defaultdict(list)
    for line in lines:
        by_product[line.product].append(line)
    return ends, {product: [arr_on(group, day, rates) for day in ends] for product, group in sorted(by_product.items())}
