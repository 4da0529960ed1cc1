"""Shards: a full recompute split into groups of customers computed apart and summed.

Every figure is a sum over customers, so the partial totals of disjoint shards add up exactly to
the whole. A full run freezes the live tables into a new input version (one transaction), then
each shard reads only its customers of that version (consistent whatever changes meanwhile),
computes its partial totals and merges its customers' churn cases; the last step sums the
partials and swaps the new figures and input version in at once. The Celery tasks in
``metrics.tasks`` run each step in workers; ``recompute_all`` runs them in this process.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..models import PendingRecompute, RecomputeStatus, ShardResult
from . import engine, loading, writing
from .writing import acquire_lock

log = logging.getLogger(__name__)


@dataclass
class FullRun:
    """A full run in flight: plain values, so that it travels in Celery messages."""

    version: int
    as_of: str  # ISO date
    first_day: str | None  # the first revenue day when the run began: its periods start there
    last_pending_id: int  # triggers up to this one are carried out by the run
    shards: list[tuple[int, int]]  # inclusive customer id ranges
    started_at: float  # epoch seconds

    @property
    def day(self) -> date:
        return date.fromisoformat(self.as_of)

    @property
    def periods(self):
        return loading.periods(date.fromisoformat(self.first_day) if self.first_day else None, self.day)


@dataclass
class RunSummary:
    mode: str  # full, incremental, new day, deferred or nothing
    customers: int
    rows: int
    seconds: float


def plan_shards(customer_ids: list[int], size: int) -> list[tuple[int, int]]:
    """Inclusive id ranges of at most ``size`` customers each (sorted ids)."""
    count = max(1, math.ceil(len(customer_ids) / size))
    step = math.ceil(len(customer_ids) / count) if customer_ids else 1
    return [
        (customer_ids[i], customer_ids[min(i + step, len(customer_ids)) - 1]) for i in range(0, len(customer_ids), step)
    ]


def run_is_stale(status: RecomputeStatus) -> bool:
    """A full run whose last step never came (its worker died past every retry) stops blocking."""
    limit = timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)
    return status.running_since is None or timezone.now() - status.running_since > limit


def start_full(as_of: date) -> FullRun:
    """Plan a full run: a new input version, its memberships frozen, its shards of customers.

    Each shard freezes its own customers, in its own transaction, and computes from exactly what
    it froze: a change committed meanwhile is in both or in neither, and keeps its trigger (read
    here, before anything is frozen) for an incremental run, which takes its old contribution
    from whatever was frozen, so nothing counts twice or goes missing.
    """
    started = time.time()
    with transaction.atomic():
        acquire_lock()
        status = RecomputeStatus.get()
        version = max(status.input_version, status.running_version or 0) + 1
        last_pending = PendingRecompute.objects.aggregate(last=Max("id"))["last"] or 0
        loading.freeze_all_memberships(version)
        loading.freeze_rates(version)
        first_day = loading.live_first_revenue_day()
        shards = plan_shards(loading.live_customer_ids(), settings.RECOMPUTE_SHARD_CUSTOMERS)
        RecomputeStatus.objects.filter(pk=1).update(running_version=version, running_since=timezone.now())
    log.info("full recompute: version %d planned in %.1f s, %d shard(s)", version, time.time() - started, len(shards))
    return FullRun(
        version, as_of.isoformat(), first_day.isoformat() if first_day else None, last_pending, shards, started
    )


def compute_shard(version: int, as_of: str, first_day: str | None, lo: int, hi: int) -> dict:
    """Freeze a shard's customers, compute their partial totals (kept as a ShardResult) and merge
    their churn cases."""
    periods = loading.periods(date.fromisoformat(first_day) if first_day else None, date.fromisoformat(as_of))
    day = date.fromisoformat(as_of)
    started = time.monotonic()
    with transaction.atomic():  # a redelivered shard replaces what it froze, and its result
        loading.freeze_range(version, lo, hi)
        inputs = loading.frozen_inputs(version, id_range=(lo, hi))
        loaded = time.monotonic()
        totals = engine.block_totals(inputs, periods)
        computed = time.monotonic()
        cases = engine.cases(inputs, day)
        # Merging cases takes the recompute lock (to the commit, a second at most): an incremental
        # run, or another full run's shard over the same customers, must not insert them too.
        writing.acquire_lock()
        writing.merge_cases(cases, id_range=(lo, hi))
        ShardResult.objects.update_or_create(
            version=version, first_customer_id=lo, defaults={"totals": totals.to_bytes()}
        )
    log.info(
        "shard %d-%d: frozen and loaded in %.1f s, computed in %.1f s, cases merged in %.1f s",
        lo,
        hi,
        loaded - started,
        computed - loaded,
        time.monotonic() - computed,
    )
    return {"version": version, "first_customer_id": lo}


def finish_full(run: FullRun) -> RunSummary:
    """Sum the shards (one at a time) and swap the new figures and input version in, at once."""
    started = time.monotonic()
    results = ShardResult.objects.filter(version=run.version)
    if results.count() != len(run.shards):
        raise RuntimeError(f"full recompute {run.version}: {results.count()} of {len(run.shards)} shards are in")
    total = None
    for stored in results.values_list("totals", flat=True).iterator(chunk_size=1):
        shard = engine.BlockTotals.from_bytes(bytes(stored))
        total = shard if total is None else total.add(shard)
    partial = total.to_partial() if total is not None else engine.Partial()
    log.info("full recompute: %d shard totals summed in %.1f s", len(run.shards), time.monotonic() - started)
    with transaction.atomic():
        acquire_lock()
        status = RecomputeStatus.get()
        if status.running_version != run.version:
            log.warning("full recompute %d superseded by %s: dropped", run.version, status.running_version)
            return RunSummary("superseded", 0, 0, time.time() - run.started_at)
        periods = run.periods
        count = writing.replace_snapshots(engine.retention_rows(partial, periods))
        PendingRecompute.objects.filter(id__lte=run.last_pending_id).delete()
        RecomputeStatus.objects.filter(pk=1).update(running_version=None, running_since=None)
        seconds = time.time() - run.started_at
        writing.record_status(
            full=True,
            as_of=run.day,
            seconds=seconds,
            input_version=run.version,
            first_month=periods[0].start if periods else None,
        )
        ShardResult.objects.filter(version__lte=run.version).delete()
        transaction.on_commit(lambda: loading.drop_versions_before(run.version))
        transaction.on_commit(loading.refresh_statistics)
    log.info("full recompute: %d rows from %d shard(s) in %.1f s", count, len(run.shards), seconds)
    return RunSummary("full", len(run.shards), count, seconds)


def abandon_full(version: int) -> None:
    """A full run that failed: it no longer holds other runs back, and its frozen inputs go."""
    with transaction.atomic():
        acquire_lock()
        abandoned = RecomputeStatus.objects.filter(pk=1, running_version=version).update(
            running_version=None, running_since=None
        )
    if abandoned:
        loading.drop_version(version)
        ShardResult.objects.filter(version=version).delete()


def recompute_all_here(as_of: date) -> RunSummary:
    """A full run with every shard in this process (manage.py recompute, the embedded default)."""
    run = start_full(as_of)
    try:
        for lo, hi in run.shards:
            compute_shard(run.version, run.as_of, run.first_day, lo, hi)
        return finish_full(run)
    except BaseException:
        abandon_full(run.version)
        raise


def run_payload(run: FullRun) -> dict:
    return asdict(run)


def run_from_payload(payload: dict) -> FullRun:
    return FullRun(**{**payload, "shards": [tuple(s) for s in payload["shards"]]})
