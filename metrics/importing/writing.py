"""Step 3 of the CSV import, the means: compare wanted values with current rows and write the
difference in bulk (COPY on PostgreSQL), with edit history attributed to the run."""

import contextvars
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..bulk import copy_rows
from . import database
from .database import DbAssignment, DbLine

BATCH_SIZE = 2000
HISTORY_REASON = "CSV import"
# The run being written: its user and name go on every history record it writes.
_RUN: contextvars.ContextVar[tuple[Model | None, str]] = contextvars.ContextVar(
    "import_run", default=(None, HISTORY_REASON)
)


@dataclass
class Changes:
    create: list = field(default_factory=list)  # value dicts
    update: list = field(default_factory=list)  # value dicts with "id"
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {"created": len(self.create), "updated": len(self.update), "unchanged": self.unchanged}


def diff(desired: Iterable[tuple], existing: Mapping[Any, Mapping[str, Any] | DbLine | DbAssignment]) -> Changes:
    """Compare wanted values (only the fields given), as (key, values) pairs, with current rows
    (dicts or named tuples) keyed alike."""
    changes = Changes()
    for key, values in desired:
        current = existing.get(key)
        if current is None:
            changes.create.append(values)
            continue
        if isinstance(current, tuple):
            current = current._asdict()
        merged = {**current, **values}
        if merged == current:
            changes.unchanged += 1
        else:
            changes.update.append(merged)
    return changes


def write(model, changes: Changes, fields: list[str], history=False) -> list[int]:
    """Updates first (an end date moving earlier may make room for a new row), then creates;
    returns the new rows' ids, in the order of ``changes.create``.

    Bulk queries only: no model signals fire, and the recompute is queued once by the caller.
    On PostgreSQL new rows go in by COPY (``_copy_new``), in the same transaction.
    """
    if changes.update:
        updated = [model(**row) for row in changes.update]  # whole rows: history records copy them
        if history:  # edit history (who changed what, in which import run), written in bulk too
            user, reason = _RUN.get()
            bulk_update_with_history(
                updated, model, fields, batch_size=BATCH_SIZE, default_change_reason=reason, default_user=user
            )
        else:
            model.objects.bulk_update(updated, fields, batch_size=BATCH_SIZE)
    if not changes.create:
        return []
    if database._postgresql():  # looked up here: one switch for both paths (the tests flip it)
        return _copy_new(model, changes.create, history)
    created = [model(**row) for row in changes.create]
    if history:
        user, reason = _RUN.get()
        created = bulk_create_with_history(
            created, model, batch_size=BATCH_SIZE, default_change_reason=reason, default_user=user
        )
    else:
        created = model.objects.bulk_create(created, batch_size=BATCH_SIZE)
    return [obj.pk for obj in created]


def _copy_new(model, rows: list[dict], history: bool) -> list[int]:
    """PostgreSQL: insert value dicts with COPY (many times faster than INSERT for 100,000s of
    rows), their ids drawn from the table's sequence first; with ``history``, a simple_history
    "+" record for each, as ``bulk_create_with_history`` writes them."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        defaults = {f.attname: f.get_default() for f in fields}  # for a column the file does not have
        records = (
            (pk, *(row[name] if name in row else defaults[name] for name in defaults))
            for pk, row in zip(ids, rows, strict=True)
        )
        copy_rows(cursor, meta.db_table, [meta.pk.column, *(f.column for f in fields)], records)
        if history and getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            historical = model.history.model
            tracked = [f.attname for f in historical.tracked_fields]
            user, reason = _RUN.get()
            user = user or historical.get_default_history_user(model())  # else the request's user, if any
            extra = (timezone.now(), reason, "+", user.pk if user else None)
            records = (
                (pk, *(row[name] if name in row else defaults[name] for name in tracked[1:]), *extra)
                for pk, row in zip(ids, rows, strict=True)
            )
            columns = [historical._meta.get_field(name).column for name in tracked]
            copy_rows(
                cursor,
                historical._meta.db_table,
                [*columns, "history_date", "history_change_reason", "history_type", "history_user_id"],
                records,
            )
    return ids


def _deleted_history(model, rows: list[dict]) -> None:
    """simple_history "-" records for rows removed by a raw delete (which sends no signals)."""
    if not rows or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    historical = model.history.model
    tracked = [f.attname for f in historical.tracked_fields]
    user, reason = _RUN.get()
    now = timezone.now()
    historical.objects.bulk_create(
        [historical(**{name: row.get(name) for name in tracked}, history_date=now, history_type="-",
                    history_change_reason=reason, history_user_id=user.pk if user else None) for row in rows],
        batch_size=BATCH_SIZE,
    )  # fmt: skip
