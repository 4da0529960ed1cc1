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
        company = RetentionSnapshot.objects.filter(granularity=granularity, period_start=period_start, scope_type="company").first()
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
    """The frozen inputs of the customers with a line in the period (from the day before it to
    its last day), and every membership: all that the period's account rows are made of."""
    line = SnapshotLine._meta.db_table
    adapt = connection.ops.adapt_datefield_value
    in_period = (
        f"SELECT DISTINCT customer_id FROM {line} WHERE version = %s AND start_date <= %s "
        "AND (end_date IS NULL OR end_date >= %s)"
    )
    in_params = [version, adapt(period.measured_end), adapt(period.before_start)]
    with connection.cursor() as cursor:
        for model in (SnapshotCustomer, SnapshotLine, SnapshotAssignment):
            columns = ", ".join(f.column for f in model._meta.concrete_fields if f.name not in ("id", "version"))
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} (version, {columns}) SELECT %s, {columns} FROM {model._meta.db_table} "
                f"WHERE version = %s AND customer_id IN ({in_period})",
                [into, version, *in_params],
            )
        columns = ", ".join(f.column for f in SnapshotMembership._meta.concrete_fields if f.name not in ("id", "version"))
        cursor.execute(
            f"INSERT INTO {SnapshotMembership._meta.db_table} (version, {columns}) SELECT %s, {columns} "
            f"FROM {SnapshotMembership._meta.db_table} WHERE version = %s",
            [into, version],
        )
