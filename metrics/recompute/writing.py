"""Writing: retention snapshots (one row per period, scope and role), churn cases, the status row.

A full run replaces every snapshot row; an incremental run adds a delta to the rows it touches
and drops the scopes whose cohort it empties. Either way the caller's transaction makes the new
figures appear at once, together with the frozen inputs they were computed from.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from django.db import DatabaseError, connection, transaction
from django.db.models import F, Field
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import Team, User

from .. import engine as reference
from ..bulk import copy_rows
from ..models import ChurnCase, RecomputeStatus, RetentionSnapshot
from ..vocabulary import COMPANY, OWNER, TEAM, UNASSIGNED

log = logging.getLogger(__name__)
# Sent after the commit of every recompute that landed new figures (full or incremental).
figures_landed = Signal()
LOCK_KEY = 727_001  # PostgreSQL advisory lock id of the recompute
RETENTION_FIELDS = list(reference.RetentionRow.__dataclass_fields__)
SCOPE_FIELDS = ["granularity", "period_start", "scope_type", "scope_key", "role"]
CASE_FIELDS = [
    "kind",
    "previous_arr",
    "new_arr",
    "lost_arr",
    "csm_owner_id",
    "csm_team_id",
    "am_owner_id",
    "am_team_id",
    "void",
]


class ScopeNames:
    """Maps the engine's team/owner ids to the names the snapshots carry (team name, owner email)."""

    def __init__(self):
        self.teams = dict(Team.objects.values_list("id", "name"))
        self.users = dict(User.objects.values_list("id", "email"))
        self.team_ids = {name: pk for pk, name in self.teams.items()}
        self.user_ids = {email: pk for pk, email in self.users.items()}

    def name(self, scope_type: str, key) -> str:
        if scope_type == TEAM:
            return self.teams.get(key, UNASSIGNED) if key is not None else UNASSIGNED
        if scope_type == OWNER:
            return self.users.get(key, UNASSIGNED) if key is not None else UNASSIGNED
        return key

    def key(self, scope_type: str, name: str):
        """The inverse, for reading stored rows back into engine keys."""
        if scope_type in (TEAM, OWNER):
            if name == UNASSIGNED:
                return None
            return (self.team_ids if scope_type == TEAM else self.user_ids).get(name, name)
        return name


def snapshot_model(row: reference.RetentionRow, names: ScopeNames, computed_at) -> RetentionSnapshot:
    values = {f: getattr(row, f) for f in RETENTION_FIELDS}
    values["scope_key"] = names.name(row.scope_type, row.scope_key)
    return RetentionSnapshot(**values, computed_at=computed_at)


def totals_of(snapshot: RetentionSnapshot) -> reference.Totals:
    return reference.Totals(
        starting_arr=snapshot.starting_arr,
        expansion=snapshot.expansion,
        cross_sell=snapshot.cross_sell,
        contraction=snapshot.contraction,
        churn=snapshot.churn,
        ending_arr=snapshot.ending_arr,
        logos_start=snapshot.logos_start,
        logos_churned=snapshot.logos_churned,
        new_arr=snapshot.new_arr or reference.ZERO,
        reactivation_arr=snapshot.reactivation_arr or reference.ZERO,
    )


# --- snapshots ----------------------------------------------------------------------------------


def replace_snapshots(
    rows: Iterable[reference.RetentionRow], periods_only: Iterable[reference.Period] | None = None
) -> int:
    """Write these rows in place of every stored row (or of the rows of ``periods_only``)."""
    names, computed_at = ScopeNames(), timezone.now()
    if periods_only is None:
        RetentionSnapshot.objects.all().delete()
    else:
        by_granularity = defaultdict(list)
        for period in periods_only:
            by_granularity[period.granularity].append(period.start)
        for granularity, starts in by_granularity.items():
            RetentionSnapshot.objects.filter(granularity=granularity, period_start__in=starts).delete()
    if connection.vendor == "postgresql":  # a full run writes 174,000 rows at 300k customers: 12 s by INSERT
        return _copy_snapshots(rows, names, computed_at)
    models = [snapshot_model(r, names, computed_at) for r in rows]
    RetentionSnapshot.objects.bulk_create(models, batch_size=5000)
    return len(models)


def _copy_snapshots(rows: Iterable[reference.RetentionRow], names: ScopeNames, computed_at) -> int:
    meta = RetentionSnapshot._meta
    columns = [_column(f) for f in RETENTION_FIELDS]
    scope_key = RETENTION_FIELDS.index("scope_key")
    count = 0

    def records():
        nonlocal count
        for row in rows:
            values = [getattr(row, f) for f in RETENTION_FIELDS]
            values[scope_key] = names.name(row.scope_type, row.scope_key)
            values.append(computed_at)
            count += 1
            yield values

    with connection.cursor() as cursor:
        copy_rows(cursor, meta.db_table, [*columns, _column("computed_at")], records())
    return count


def _column(name: str) -> str:
    """A snapshot field's database column (every one is a concrete field, never a relation)."""
    field = RetentionSnapshot._meta.get_field(name)
    assert isinstance(field, Field)
    return field.column


def apply_delta(delta: Mapping[reference.ScopeKey, reference.Totals], periods: list[reference.Period]) -> int:
    """Add each scope's change to its stored totals; rows of emptied scopes go (not the company's)."""
    names = ScopeNames()
    stored = stored_totals(delta.keys(), names)
    for scope, change in delta.items():
        stored.setdefault(scope, reference.Totals()).add(change)
    by_period = {(p.granularity, p.start): p for p in periods}
    computed_at = timezone.now()
    keep, drop = [], []
    for (granularity, start, scope_type, key, role), totals in stored.items():
        period = by_period[(granularity, start)]
        if scope_type != COMPANY and totals.logos_start == 0:
            drop.append((granularity, start, scope_type, names.name(scope_type, key), role))
        else:
            keep.append(
                snapshot_model(reference.retention_row(period, scope_type, key, role, totals), names, computed_at)
            )
    delete_snapshots(drop)
    RetentionSnapshot.objects.bulk_create(
        keep,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=SCOPE_FIELDS,
        update_fields=[f for f in RETENTION_FIELDS if f not in SCOPE_FIELDS] + ["computed_at"],
    )
    return len(keep)


def stored_totals(keys: Iterable[reference.ScopeKey], names: ScopeNames) -> dict[reference.ScopeKey, reference.Totals]:
    """The stored totals of these scopes, fetched in one query per (granularity, scope type)."""
    wanted: dict[tuple[str, str], set] = defaultdict(set)
    for granularity, start, scope_type, key, role in keys:
        wanted[(granularity, scope_type)].add((start, names.name(scope_type, key), role))
    result = {}
    for (granularity, scope_type), items in wanted.items():
        rows = RetentionSnapshot.objects.filter(
            granularity=granularity,
            scope_type=scope_type,
            period_start__in={s for s, _, _ in items},
            scope_key__in={n for _, n, _ in items},
        )
        for snapshot in rows:
            if (snapshot.period_start, snapshot.scope_key, snapshot.role) in items:
                key = names.key(scope_type, snapshot.scope_key)
                result[(granularity, snapshot.period_start, scope_type, key, snapshot.role)] = totals_of(snapshot)
    return result


def delete_snapshots(keys: list[tuple]) -> None:
    by_group: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for granularity, start, scope_type, name, role in keys:
        by_group[(granularity, scope_type)].append((start, name, role))
    for (granularity, scope_type), items in by_group.items():
        candidates = RetentionSnapshot.objects.filter(
            granularity=granularity,
            scope_type=scope_type,
            period_start__in={s for s, _, _ in items},
            scope_key__in={n for _, n, _ in items},
        )
        wanted = set(items)
        ids = [
            pk
            for pk, s, n, r in candidates.values_list("id", "period_start", "scope_key", "role")
            if (s, n, r) in wanted
        ]
        RetentionSnapshot.objects.filter(id__in=ids).delete()


# --- churn cases --------------------------------------------------------------------------------


def merge_cases(
    cases: Iterable[reference.Case],
    customer_ids: Iterable[int] | None = None,
    id_range: tuple[int, int] | None = None,
    since: date | None = None,
) -> None:
    """Make the ChurnCase rows of some customers (ids, an id range, or all) match the derived
    cases, keeping recorded reasons; a case whose drop vanished goes void. ``since``: only the
    cases dated after that day are compared (a new day adds cases, it never changes older ones)."""
    existing = ChurnCase.objects.all()
    if customer_ids is not None:
        existing = existing.filter(customer_id__in=list(customer_ids))
    if id_range is not None:
        existing = existing.filter(customer_id__gte=id_range[0], customer_id__lte=id_range[1])
    if since is not None:
        existing = existing.filter(date__gt=since)
        cases = (c for c in cases if c.date > since)
    current = {(c.customer_id, c.date): c for c in existing}
    to_create, to_update = [], []
    for case in cases:
        values = {
            "kind": case.kind,
            "previous_arr": case.previous_arr,
            "new_arr": case.new_arr,
            "lost_arr": case.lost_arr,
            "csm_owner_id": case.csm_owner,
            "csm_team_id": case.csm_team,
            "am_owner_id": case.am_owner,
            "am_team_id": case.am_team,
            "void": False,
        }
        row = current.pop((case.customer_id, case.date), None)
        if row is None:
            to_create.append(ChurnCase(customer_id=case.customer_id, date=case.date, **values))
        elif any(getattr(row, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(row, f, v)
            to_update.append(row)
    for row in current.values():  # the drop disappeared after a data correction
        if not row.void:
            row.void = True
            to_update.append(row)
    # Derived fields are not people's edits: bulk writes keep them out of the reason history.
    ChurnCase.objects.bulk_create(to_create, batch_size=5000)
    ChurnCase.objects.bulk_update(to_update, CASE_FIELDS, batch_size=2000)


def acquire_lock() -> None:
    """Serialises recompute writes until the transaction ends; SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


# --- status -------------------------------------------------------------------------------------


def record_status(
    *, full: bool, as_of: date, seconds: float, input_version: int | None = None, first_month: date | None = None
) -> None:
    """A run's figures landed: new generation (pages cache by it), the day they were measured on."""
    now = timezone.now()
    values = {
        "computed_at": now,
        "as_of": as_of,
        "last_duration_seconds": seconds,
        "last_error": "",
        "generation": F("generation") + 1,
    }
    if full:
        values["full_computed_at"] = now
    if input_version is not None:
        values["input_version"] = input_version
        values["first_month"] = first_month
    RecomputeStatus.get()
    RecomputeStatus.objects.filter(pk=1).update(**values)
    # Whatever follows every landing (outlook's cohort heatmaps) listens, after the commit.
    transaction.on_commit(lambda: figures_landed.send(sender=RecomputeStatus))


def record_failure(error: BaseException) -> None:
    """Keep a failed run's error for the admins' notice and /healthz; the run itself is retried.
    With the database gone this cannot be written either: the log has it."""
    try:
        RecomputeStatus.objects.update_or_create(
            pk=1, defaults={"last_error": f"{type(error).__name__}: {error}"[:2000], "last_error_at": timezone.now()}
        )
    except DatabaseError:
        log.warning("could not record the recompute error: %s", error)
