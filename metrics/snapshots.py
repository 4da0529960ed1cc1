"""Snapshot writer: loads rows for the engine, writes what it computes.

Both ``manage.py recompute`` and the Celery tasks call ``process_pending`` / ``recompute_all``.
Everything a run writes happens in one transaction under a lock, so two runs never interleave,
a reader sees the old snapshot set or the new one (never half of one), and a run killed midway
leaves the last good snapshots (and its pending triggers, for the retry).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import Team, TeamMembership, User

from . import engine
from .models import (
    AccountMovement,
    Assignment,
    ChurnCase,
    ContractLine,
    Customer,
    PendingRecompute,
    RecomputeStatus,
    RetentionSnapshot,
)

log = logging.getLogger(__name__)
UNASSIGNED = "unassigned"
LOCK_KEY = 727_001  # PostgreSQL advisory lock id of the recompute
PARALLEL_MIN_CUSTOMERS = 2000  # below this, forking costs more than it saves
MOVEMENT_COLUMNS = [
    "granularity", "period_start", "period_end", "partial", "customer_id", "product",
    "starting_arr", "ending_arr", "cross_sell", "movement", "csm_owner_id", "csm_team_id",
    "am_owner_id", "am_team_id", "segment", "region", "industry", "use_case", "tenure_band",
]  # fmt: skip
MOVEMENT_ATTRS = [c.removesuffix("_id") if c.endswith(("owner_id", "team_id")) else c for c in MOVEMENT_COLUMNS]


@dataclass
class RunSummary:
    mode: str  # full, customers or nothing
    customers: int
    rows: int
    movements: int
    seconds: float


def today() -> date:
    return timezone.localdate()


# --- loading ------------------------------------------------------------------------------


def load_ownership(customer_ids: Iterable[int] | None = None) -> engine.Ownership:
    assignments = Assignment.objects.all()
    if customer_ids is not None:
        assignments = assignments.filter(customer_id__in=customer_ids)
    by_role: dict[str, dict[int, list[engine.Span]]] = {role: defaultdict(list) for role in engine.ROLES}
    owners = set()
    for customer_id, user_id, role, start, end in assignments.values_list(
        "customer_id", "user_id", "role", "start_date", "end_date"
    ).iterator(chunk_size=20000):
        by_role[role][customer_id].append(engine.Span(customer_id, user_id, start, end))
        owners.add(user_id)
    memberships = TeamMembership.objects.all()
    if customer_ids is not None:
        memberships = memberships.filter(user_id__in=owners)
    by_user: dict[int, list[engine.Span]] = defaultdict(list)
    for user_id, team_id, start, end in memberships.values_list("user_id", "team_id", "start_date", "end_date"):
        by_user[user_id].append(engine.Span(user_id, team_id, start, end))
    return engine.Ownership(assignments=by_role, memberships=by_user)


def load_customers(customer_ids: Iterable[int] | None = None) -> tuple[list[engine.CustomerInfo], dict[int, list[engine.Line]]]:
    customers = Customer.objects.order_by("id")
    lines = ContractLine.objects.order_by("customer_id", "start_date")
    if customer_ids is not None:
        customers = customers.filter(id__in=customer_ids)
        lines = lines.filter(customer_id__in=customer_ids)
    infos = [
        engine.CustomerInfo(*row)
        for row in customers.values_list("id", "segment", "region", "industry", "use_case").iterator(chunk_size=20000)
    ]
    by_customer: dict[int, list[engine.Line]] = defaultdict(list)
    for row in lines.values_list("customer_id", "product", "start_date", "end_date", "arr").iterator(chunk_size=20000):
        by_customer[row[0]].append(engine.Line(*row))
    return infos, by_customer


def company_periods(as_of: date) -> list[engine.Period]:
    first = ContractLine.objects.filter(arr__gt=0).aggregate(first=Min("start_date"))["first"]
    if first is None or first > as_of:
        return []
    return engine.periods_between(first, as_of, settings.FISCAL_YEAR_START_MONTH)


# --- conversions --------------------------------------------------------------------------


class ScopeNames:
    """Maps the engine's team/owner ids to the names the snapshots carry (team name, owner email)."""

    def __init__(self):
        self.teams = dict(Team.objects.values_list("id", "name"))
        self.users = dict(User.objects.values_list("id", "email"))
        self.team_ids = {name: pk for pk, name in self.teams.items()}
        self.user_ids = {email: pk for pk, email in self.users.items()}

    def name(self, scope_type: str, key) -> str:
        if scope_type == "team":
            return self.teams.get(key, UNASSIGNED) if key is not None else UNASSIGNED
        if scope_type == "owner":
            return self.users.get(key, UNASSIGNED) if key is not None else UNASSIGNED
        return key

    def key(self, scope_type: str, name: str):
        """The inverse, for reading stored rows back into engine keys."""
        if scope_type in ("team", "owner"):
            if name == UNASSIGNED:
                return None
            return (self.team_ids if scope_type == "team" else self.user_ids).get(name, name)
        return name


def snapshot_model(row: engine.RetentionRow, names: ScopeNames, computed_at) -> RetentionSnapshot:
    values = {f: getattr(row, f) for f in RETENTION_FIELDS}
    values["scope_key"] = names.name(row.scope_type, row.scope_key)
    return RetentionSnapshot(**values, computed_at=computed_at)


RETENTION_FIELDS = [f for f in engine.RetentionRow.__dataclass_fields__]


def totals_of(snapshot: RetentionSnapshot) -> engine.Totals:
    return engine.Totals(
        starting_arr=snapshot.starting_arr,
        expansion=snapshot.expansion,
        cross_sell=snapshot.cross_sell,
        contraction=snapshot.contraction,
        churn=snapshot.churn,
        ending_arr=snapshot.ending_arr,
        logos_start=snapshot.logos_start,
        logos_churned=snapshot.logos_churned,
        new_arr=snapshot.new_arr or engine.ZERO,
        reactivation_arr=snapshot.reactivation_arr or engine.ZERO,
    )


def movement_from_model(row: dict) -> engine.AccountMovement:
    return engine.AccountMovement(**{attr: row[col] for attr, col in zip(MOVEMENT_ATTRS, MOVEMENT_COLUMNS)})


# --- writing ------------------------------------------------------------------------------


class MovementWriter:
    """Streams movement rows into the table: PostgreSQL COPY, or batched inserts elsewhere."""

    BATCH = 5000

    def __enter__(self):
        self.count = 0
        self.batch: list[AccountMovement] = []
        self._copy_context = None
        if connection.vendor == "postgresql":
            self._cursor = connection.cursor()
            table = AccountMovement._meta.db_table
            self._copy_context = self._cursor.cursor.copy(f"COPY {table} ({', '.join(MOVEMENT_COLUMNS)}) FROM STDIN")
            self._copy = self._copy_context.__enter__()
        return self

    def write_block(self, data: bytes) -> None:
        """Rows already in COPY text format (PostgreSQL only)."""
        self._copy.write(data)

    def write(self, m: engine.AccountMovement) -> None:
        self.count += 1
        if self._copy_context is not None:
            self._copy.write_row([getattr(m, attr) for attr in MOVEMENT_ATTRS])
            return
        self.batch.append(AccountMovement(**{col: getattr(m, attr) for attr, col in zip(MOVEMENT_ATTRS, MOVEMENT_COLUMNS)}))
        if len(self.batch) >= self.BATCH:
            AccountMovement.objects.bulk_create(self.batch)
            self.batch = []

    def __exit__(self, *exc):
        if self._copy_context is not None:
            self._copy_context.__exit__(*exc)
            self._cursor.close()
        elif not exc[0]:
            AccountMovement.objects.bulk_create(self.batch)
        return False


def write_movements(movements: Iterable[engine.AccountMovement]) -> int:
    with MovementWriter() as writer:
        for movement in movements:
            writer.write(movement)
    return writer.count


def merge_cases(customer_ids: Iterable[int] | None, cases: list[engine.Case]) -> None:
    """Make ChurnCase rows match the derived cases, keeping recorded reasons; vanished ones go void."""
    existing = ChurnCase.objects.all()
    if customer_ids is not None:
        existing = existing.filter(customer_id__in=list(customer_ids))
    current = {(c.customer_id, c.date): c for c in existing}
    derived_fields = ["kind", "previous_arr", "new_arr", "lost_arr", "csm_owner_id", "csm_team_id",
                      "am_owner_id", "am_team_id", "void"]  # fmt: skip
    to_create, to_update = [], []
    for case in cases:
        values = dict(
            kind=case.kind, previous_arr=case.previous_arr, new_arr=case.new_arr, lost_arr=case.lost_arr,
            csm_owner_id=case.csm_owner, csm_team_id=case.csm_team, am_owner_id=case.am_owner,
            am_team_id=case.am_team, void=False,
        )  # fmt: skip
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
    ChurnCase.objects.bulk_create(to_create, batch_size=2000)
    ChurnCase.objects.bulk_update(to_update, derived_fields, batch_size=2000)


def acquire_lock() -> None:
    """Held until the transaction ends; SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def record_status(full: bool, as_of: date, started: float) -> None:
    status = RecomputeStatus.get()
    now = timezone.now()
    status.computed_at = now
    if full:
        status.full_computed_at = now
    status.as_of = as_of
    status.last_duration_seconds = time.monotonic() - started
    status.last_error = ""
    status.save()


# --- runs ---------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    totals: dict
    cases: list
    movements: int


def compute_chunk(infos, lines, ownership, periods, as_of, write) -> ChunkResult:
    """The engine over some customers: their totals and cases, their movements handed to ``write``."""
    totals: dict = {}
    cases: list[engine.Case] = []
    count = 0
    for info in infos:
        customer_lines = lines.get(info.id, ())
        movements = engine.customer_movements(info, customer_lines, ownership, periods)
        engine.aggregate(movements, totals)
        cases += engine.customer_cases(info.id, customer_lines, ownership, as_of)
        for movement in movements:
            write(movement)
        count += len(movements)
    return ChunkResult(totals, cases, count)


def copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


_FORKED: tuple = ()  # what forked chunk workers read (inherited, never pickled)
# Many small chunks, so that PostgreSQL parses the finished ones while the engine runs on the rest.
CHUNKS_PER_PROCESS = 8


def _chunk_to_file(task: tuple[int, int, str]) -> tuple[ChunkResult, str]:
    index, count, path = task
    infos, lines, ownership, periods, as_of = _FORKED
    with open(path, "w", encoding="utf-8") as out:

        def write(m):
            out.write("\t".join([copy_text(getattr(m, attr)) for attr in MOVEMENT_ATTRS]) + "\n")

        return compute_chunk(infos[index::count], lines, ownership, periods, as_of, write), path


def compute_in_processes(infos, lines, ownership, periods, as_of, processes: int) -> list[ChunkResult] | None:
    """Run the engine in forked processes that write COPY files, copying each file as it is done.

    None where processes cannot be started (inside a daemonic process): the caller then runs the
    engine in this process.
    """
    global _FORKED
    _FORKED = (infos, lines, ownership, periods, as_of)  # before the pool forks its processes
    try:
        pool = multiprocessing.get_context("fork").Pool(processes)
    except (AssertionError, OSError):
        _FORKED = ()
        return None
    folder = tempfile.mkdtemp(prefix="recompute-")
    chunks = processes * CHUNKS_PER_PROCESS
    tasks = [(i, chunks, f"{folder}/chunk-{i}.tsv") for i in range(chunks)]
    results = []
    try:
        with pool, MovementWriter() as writer:
            for result, path in pool.imap_unordered(_chunk_to_file, tasks):
                with open(path, "rb") as chunk:
                    while block := chunk.read(1 << 20):
                        writer.write_block(block)
                os.remove(path)
                writer.count += result.movements
                results.append(result)
    finally:
        _FORKED = ()
        shutil.rmtree(folder, ignore_errors=True)
    return results


def _recompute_all_locked(as_of: date) -> RunSummary:
    started = time.monotonic()
    periods = company_periods(as_of)
    infos, lines = load_customers()
    ownership = load_ownership()
    names = ScopeNames()
    log.info("full recompute: loaded %d customers in %.1f s", len(infos), time.monotonic() - started)
    AccountMovement.objects.all().delete()
    log.info("full recompute: old movements deleted at %.1f s", time.monotonic() - started)
    processes = settings.RECOMPUTE_PROCESSES
    results = None
    if connection.vendor == "postgresql" and processes > 1 and len(infos) >= PARALLEL_MIN_CUSTOMERS:
        results = compute_in_processes(infos, lines, ownership, periods, as_of, processes)
    if results is None:
        with MovementWriter() as writer:
            results = [compute_chunk(infos, lines, ownership, periods, as_of, writer.write)]
    log.info("full recompute: movements written at %.1f s", time.monotonic() - started)
    totals: dict = {}
    cases: list[engine.Case] = []
    for result in results:
        for key, part in result.totals.items():
            totals.setdefault(key, engine.Totals()).add(part)
        cases += result.cases
    computed_at = timezone.now()
    rows = [snapshot_model(r, names, computed_at) for r in engine.retention_rows(totals, periods)]
    RetentionSnapshot.objects.all().delete()
    RetentionSnapshot.objects.bulk_create(rows, batch_size=5000)
    log.info("full recompute: snapshots written at %.1f s", time.monotonic() - started)
    merge_cases(None, cases)
    record_status(True, as_of, started)
    log.info("full recompute: cases merged at %.1f s", time.monotonic() - started)
    written = sum(r.movements for r in results)
    return RunSummary("full", len(infos), len(rows), written, time.monotonic() - started)


def _recompute_customers_locked(customer_ids: set[int], as_of: date) -> RunSummary:
    """Recompute only what touches these customers: take their old contributions out of the stored
    totals, put the new ones in, and rewrite their movement rows and cases."""
    started = time.monotonic()
    periods = company_periods(as_of)
    names = ScopeNames()
    old_rows = AccountMovement.objects.filter(customer_id__in=customer_ids).values(*MOVEMENT_COLUMNS)
    delta = engine.aggregate((movement_from_model(r) for r in old_rows.iterator(chunk_size=5000)), sign=-1)
    infos, lines = load_customers(customer_ids)
    ownership = load_ownership(customer_ids)
    new_movements, cases = [], []
    for info in infos:
        new_movements += engine.customer_movements(info, lines.get(info.id, ()), ownership, periods)
        cases += engine.customer_cases(info.id, lines.get(info.id, ()), ownership, as_of)
    engine.aggregate(new_movements, delta)

    stored = stored_totals(delta.keys(), names)
    for key, change in delta.items():
        stored.setdefault(key, engine.Totals()).add(change)
    by_period = {(p.granularity, p.start): p for p in periods}
    computed_at = timezone.now()
    keep, drop = [], []
    for (granularity, start, scope_type, key, role), totals in stored.items():
        period = by_period[(granularity, start)]
        if scope_type != "company" and totals.logos_start == 0:
            drop.append((granularity, start, scope_type, names.name(scope_type, key), role))
        else:
            row = engine.retention_row(period, scope_type, key, role, totals)
            keep.append(snapshot_model(row, names, computed_at))
    delete_snapshots(drop)
    RetentionSnapshot.objects.bulk_create(
        keep,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["granularity", "period_start", "scope_type", "scope_key", "role"],
        update_fields=[f for f in RETENTION_FIELDS if f not in ("granularity", "period_start", "scope_type", "scope_key", "role")] + ["computed_at"],
    )
    AccountMovement.objects.filter(customer_id__in=customer_ids).delete()
    written = write_movements(new_movements)
    merge_cases(customer_ids, cases)
    record_status(False, as_of, started)
    return RunSummary("customers", len(customer_ids), len(keep), written, time.monotonic() - started)


def stored_totals(keys: Iterable[engine.ScopeKey], names: ScopeNames) -> dict[engine.ScopeKey, engine.Totals]:
    """The stored totals of these scopes, fetched in one query per (granularity, scope type)."""
    wanted: dict[tuple[str, str], set] = defaultdict(set)
    for granularity, start, scope_type, key, role in keys:
        wanted[(granularity, scope_type)].add((start, names.name(scope_type, key), role))
    result = {}
    for (granularity, scope_type), items in wanted.items():
        starts = {s for s, _, _ in items}
        scope_names = {n for _, n, _ in items}
        rows = RetentionSnapshot.objects.filter(
            granularity=granularity, scope_type=scope_type, period_start__in=starts, scope_key__in=scope_names
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
            granularity=granularity, scope_type=scope_type,
            period_start__in={s for s, _, _ in items}, scope_key__in={n for _, n, _ in items},
        )  # fmt: skip
        wanted = set(items)
        ids = [pk for pk, s, n, r in candidates.values_list("id", "period_start", "scope_key", "role") if (s, n, r) in wanted]
        RetentionSnapshot.objects.filter(id__in=ids).delete()


def recompute_all(today_: date | None = None) -> RunSummary:
    """Recompute every snapshot, movement and churn case now (``manage.py recompute``)."""
    as_of = today_ or today()
    with transaction.atomic():
        acquire_lock()
        pending = list(PendingRecompute.objects.values_list("id", flat=True))
        summary = _recompute_all_locked(as_of)
        PendingRecompute.objects.filter(id__in=pending).delete()
    return summary


def process_pending(today_: date | None = None) -> RunSummary:
    """What the workers run after changes: the pending triggers, coalesced into one run.

    A full run when asked for one, when the day has changed since the last full run (every
    partial period moves), or when the periods changed; otherwise only the touched customers.
    """
    as_of = today_ or today()
    with transaction.atomic():
        acquire_lock()
        pending = list(PendingRecompute.objects.values_list("id", "customer_id"))
        if not pending:
            return RunSummary("nothing", 0, 0, 0, 0.0)
        customer_ids = {customer_id for _, customer_id in pending}
        status = RecomputeStatus.get()
        if None in customer_ids or status.as_of != as_of or periods_changed(as_of):
            summary = _recompute_all_locked(as_of)
        else:
            summary = _recompute_customers_locked(customer_ids, as_of)
        PendingRecompute.objects.filter(id__in=[pk for pk, _ in pending]).delete()
    return summary


def periods_changed(as_of: date) -> bool:
    """True when the stored snapshot set covers other months than the data now needs."""
    periods = company_periods(as_of)
    wanted = sorted(p.start for p in periods if p.granularity == "month")
    stored = RetentionSnapshot.objects.filter(granularity="month", scope_type="company").aggregate(first=Min("period_start"))
    return bool(wanted) != bool(stored["first"]) or (bool(wanted) and wanted[0] != stored["first"])
