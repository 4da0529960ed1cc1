"""A customer's contract lines over time, as pure functions (no ORM): the bars of its timeline
and its ARR per product at the end of each month, in integer cents (SPEC section 3: ARR(c, p, d)
sums the lines in force on day d, end dates inclusive)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from metrics.engine import add_months

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Line:
    external_id: str
    product: str
    start: date
    end: date | None  # last day of service, inclusive; None = open
    arr_cents: int


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


def arr_on(lines: list[Line], day: date) -> int:
    return sum(line.arr_cents for line in lines if line.start <= day and (line.end is None or day <= line.end))


def arr_by_month(lines: list[Line], today: date) -> tuple[list[date], dict[str, list[int]]]:
    """(month ends, {product: ARR in cents on each}) from the first line's month to today's."""
    if not lines:
        return [], {}
    ends = month_ends(min(line.start for line in lines), today)
    by_product = defaultdict(list)
    for line in lines:
        by_product[line.product].append(line)
    return ends, {product: [arr_on(group, day) for day in ends] for product, group in sorted(by_product.items())}
