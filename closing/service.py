"""Closing and reopening a period (admin actions), each in one transaction.

A close copies the period's snapshot rows (every scope) and the frozen inputs they were computed
from, under the recompute's lock so that no recompute lands halfway; a reopen keeps the close
and its reported figures in the history and drops the input copy.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from metrics.models import (
    PendingRecompute,
    RecomputeStatus,
    RetentionSnapshot,
    SnapshotAssignment,
    SnapshotCustomer,
    SnapshotLine,
    SnapshotMembership,
)
from metrics.recompute import writing
from metrics.recompute.accounts import make_period
from metrics.vocabulary import COMPANY

from .models import CLOSABLE, CLOSED_VERSION_BASE, PeriodClose, ReportedFigure

FIGURE_COLUMNS = [f.column for f in ReportedFigure._meta.concrete_fields if f.name not in ("id", "close")]


class CloseRefused(Exception):
    """Why a period cannot be closed or reopened, in words for the admin."""


def close_period(granularity: str, period_start: date, user) -> PeriodClose:
    """Close a complete month, quarter or year: keep every scope's figures as reported."""
    if granularity not in dict(CLOSABLE):
        raise CloseRefused(f"Only a month, a quarter or a year can be closed, not {granularity!r}.")
    with transaction.atomic():
        writing.acquire_lock()  # no recompute writes figures or inputs while they are copied
        status = RecomputeStatus.objects.filter(pk=1).first()
        company = RetentionSnapshot.objects.filter(granularity=granularity, period_start=period_start, scope_type=COMPANY).first()
        if status is None or status.as_of is None or company is None:
            raise CloseRefused(f"There are no figures for the {granularity} starting {period_start}.")
        if company.partial or company.period_end > status.as_of:
            raise CloseRefused(
                f"The {granularity} starting {period_start} is still partial (it ends on {company.period_end}): "
                "a period can be closed once it is complete."
            )
        if PendingRecompute.objects.exists() or status.running_version is not None:
            raise CloseRefused("Recent changes are not in the figures yet: close the period once the recompute has finished.")
        if PeriodClose.objects.filter(granularity=granularity, period_start=period_start, reopened_at__isnull=True).exists():
            raise CloseRefused(f"The {granularity} starting {period_start} is already closed.")
        try:
            with transaction.atomic():
                close = PeriodClose.objects.create(
                    granularity=granularity, period_start=period_start, period_end=company.period_end, as_of=status.as_of,
                    source_version=status.input_version, closed_by=user, closed_at=timezone.now(),
                )  # fmt: skip
        except IntegrityError:  # another admin closed it a moment ago
            raise CloseRefused(f"The {granularity} starting {period_start} is already closed.") from None
        close.input_version = CLOSED_VERSION_BASE + close.pk
        close.save(update_fields=["input_version"])
        _copy_figures(close)
        _copy_inputs(status.input_version, close.input_version, make_period(granularity, period_start, status.as_of))
        _new_generation()
    return close


def reopen_period(close: PeriodClose, user, reason: str) -> PeriodClose:
    """Reopen a closed period: the reason and who gave it are kept with the close."""
    reason = (reason or "").strip()
    if not reason:
        raise CloseRefused("Reopening a closed period needs a reason.")
    with transaction.atomic():
        close = PeriodClose.objects.select_for_update().get(pk=close.pk)
        if close.reopened_at is not None:
            raise CloseRefused("This close was already reopened.")
        close.reopened_by, close.reopened_at, close.reopen_reason = user, timezone.now(), reason
        close.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
        if close.input_version:
            for frozen in (SnapshotCustomer, SnapshotLine, SnapshotAssignment, SnapshotMembership):
                frozen.objects.filter(version=close.input_version).delete()
        _new_generation()
    return close


def _new_generation() -> None:
    """Pages are cached under the figures' generation (web/caching.py): a close or a reopen
    changes what they show, so it starts a new one."""
    RecomputeStatus.objects.filter(pk=1).update(generation=F("generation") + 1)


def _copy_figures(close: PeriodClose) -> None:
    table = ReportedFigure._meta.db_table
    source = RetentionSnapshot._meta.db_table
    columns = ", ".join(FIGURE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (close_id, {columns}) SELECT %s, {columns} FROM {source} "
            "WHERE granularity = %s AND period_start = %s",
            [close.pk, close.granularity, close.period_start],
        )


def _copy_inputs(version: int, into: int, period) -> None:
    """The least of the frozen inputs that the period's account rows are made of, copied under
    ``into``: the customers with revenue on the day before the period or on its last day; their
    lines running on either day, and their earliest revenue line (the first revenue day decides
    the tenure band and new against reactivation); their assignments and every membership held
    on the period's first day. (Lines wholly inside the period add to neither day.)"""
    adapt = connection.ops.adapt_datefield_value
    before, last, first = adapt(period.before_start), adapt(period.measured_end), adapt(period.start)
    line = SnapshotLine._meta.db_table

    def runs(alias, day):
        return f"({alias}.start_date <= {day} AND ({alias}.end_date IS NULL OR {alias}.end_date >= {day}))"

    in_period = (
        f"SELECT DISTINCT d.customer_id FROM {line} d WHERE d.version = %(version)s AND d.arr_cents > 0 "
        f"AND ({runs('d', '%(before)s')} OR {runs('d', '%(last)s')})"
    )
    earliest = (
        f"(src.arr_cents > 0 AND src.start_date = (SELECT MIN(f.start_date) FROM {line} f "
        "WHERE f.version = %(version)s AND f.customer_id = src.customer_id AND f.arr_cents > 0))"
    )
    wanted = {
        SnapshotCustomer: f"src.customer_id IN ({in_period})",
        SnapshotLine: f"src.customer_id IN ({in_period}) AND ({runs('src', '%(before)s')} OR {runs('src', '%(last)s')} OR {earliest})",
        SnapshotAssignment: f"src.customer_id IN ({in_period}) AND {runs('src', '%(first)s')}",
        SnapshotMembership: runs("src", "%(first)s"),
    }
    params = {"version": version, "into": into, "before": before, "last": last, "first": first}
    with connection.cursor() as cursor:
        for model, condition in wanted.items():
            columns = [f.column for f in model._meta.concrete_fields if f.name not in ("id", "version")]
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} (version, {', '.join(columns)}) "
                f"SELECT %(into)s, {', '.join('src.' + c for c in columns)} FROM {model._meta.db_table} src "
                f"WHERE src.version = %(version)s AND {condition}",
                params,
            )
