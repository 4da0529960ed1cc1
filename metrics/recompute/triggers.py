"""Triggers: committed changes become pending rows, and pending rows become figures.

Every change of contracts, assignments, customers or memberships writes a PendingRecompute row in
its own transaction (so a trigger is never lost) and, once committed, wakes the workers. A run
then carries out only what changed:

- a new day recomputes the current, partial periods (every customer, nothing older);
- changed customers: their old contribution (from the frozen inputs the figures were computed
  from) is taken out of the stored totals and their new one (from the live tables) put in;
- a full run (sharded) when asked for one, when the periods move (a line before the first
  month), or when so many customers changed that computing everything is cheaper.

No page request runs a recompute: with Redis the Celery workers do; on the embedded default a
background thread of the web process does, after the response.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import cast

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from ..models import PendingRecompute, RecomputeStatus
from . import engine, loading, shards, writing

log = logging.getLogger(__name__)
PROCESS_PENDING_TASK = "metrics.tasks.process_pending"
QUEUED_KEY = "retention:recompute-queued"
# What an unreachable Redis raises, as cache or as broker.
UNREACHABLE = (RedisError, BrokerError, OSError)


def today() -> date:
    return timezone.localdate()


# --- asking -------------------------------------------------------------------------------------


def request_recompute(customer_ids: Iterable[int] | None = None) -> None:
    """Ask for a recompute after the current transaction commits (None = everything).

    The trigger is a row written in the caller's transaction, so it commits or rolls back with
    the change itself; many triggers before the workers start are coalesced into one run.
    """
    if customer_ids is None:
        PendingRecompute.objects.create(customer_id=None)
    else:
        PendingRecompute.objects.bulk_create(PendingRecompute(customer_id=pk) for pk in set(customer_ids))
    transaction.on_commit(wake_workers)


def wake_workers() -> None:
    """Wake whoever carries the pending rows out. If Redis cannot be reached, that is a warning:
    the change and its pending row are committed, and beat's sweep (``process_pending`` every
    minute) or the next wake carries it out once Redis is back."""
    if settings.CELERY_TASK_ALWAYS_EAGER:  # the embedded default: no workers, no broker
        BACKGROUND.wake()
        return
    # By name: the tasks module wraps this one, it is not imported by it. One queued task at a time; the task clears the mark when it starts, so a change that
    # commits during a run queues the next one.
    try:
        if cache.add(QUEUED_KEY, 1, timeout=600):
            current_app.send_task(PROCESS_PENDING_TASK)
    except UNREACHABLE as error:
        log.warning("Recompute queued but the workers could not be woken (%s): the next sweep runs it.", error)
        with contextlib.suppress(*UNREACHABLE):
            cache.delete(QUEUED_KEY)  # so that the next change tries to wake them again


def clear_queued_mark() -> None:
    with contextlib.suppress(*UNREACHABLE):
        cache.delete(QUEUED_KEY)


class BackgroundRunner:
    """The embedded default's worker: one thread of the web process runs the pending recomputes
    after the responses that asked for them. Wakes while it runs fold into one more pass. Not a
    daemon: a management command that made a change waits for it before exiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._again = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._lock:
            self._again = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="recompute", daemon=False)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._again:
                        self._thread = None
                        return
                    self._again = False
                try:
                    process_pending()
                except Exception as error:  # kept for the admins' notice; the next wake retries
                    log.exception("background recompute failed")
                    writing.record_failure(error)
        finally:
            close_old_connections()
            connection.close()


BACKGROUND = BackgroundRunner()


def catch_up_if_behind() -> None:
    """With no workers (the embedded default) nothing runs at midnight: the first page view of a
    new day starts the new day's figures in the background thread."""
    as_of = RecomputeStatus.objects.filter(pk=1).values_list("as_of", flat=True).first()
    if as_of is not None and as_of < today():
        BACKGROUND.wake()


# --- carrying out -------------------------------------------------------------------------------


def process_pending(
    as_of: date | None = None, start_full: Callable[[date], shards.RunSummary] | None = None
) -> shards.RunSummary:
    """Carry out the pending triggers: a new day, changed customers, or a full run.

    ``start_full`` starts a full run (in Celery workers); by default it runs here.
    """
    as_of = as_of or today()
    started = time.monotonic()
    with transaction.atomic():
        writing.acquire_lock()
        status = RecomputeStatus.get()
        if status.running_version is not None and not shards.run_is_stale(status):
            return shards.RunSummary("deferred", 0, 0, 0.0)  # the full run's last step wakes us again
        pending = list(PendingRecompute.objects.values_list("id", "customer_id"))
        if not pending and status.as_of == as_of:
            return shards.RunSummary("nothing", 0, 0, 0.0)
        version = status.input_version
        periods = loading.periods(status.first_month, as_of)
        touched = {customer_id for _, customer_id in pending}
        if needs_full_run(status, periods, touched, as_of):
            full = True
        else:
            full = False
            rows = 0
            if status.as_of != as_of:
                rows += recompute_current_periods(version, periods, status.as_of, as_of)
            memberships = loading.live_memberships()
            changed_users = {user_id for user_id, *_ in loading.frozen_memberships(version) ^ set(memberships)}
            touched |= loading.customers_of_users(version, changed_users)
            if touched or changed_users:
                customer_ids = cast("set[int]", touched)  # a None (everything) went to a full run above
                rows += recompute_customers(version, periods, customer_ids, as_of, memberships, bool(changed_users))
            PendingRecompute.objects.filter(id__in=[pk for pk, _ in pending]).delete()
            mode = "incremental" if touched else "new day"
            writing.record_status(full=False, as_of=as_of, seconds=time.monotonic() - started)
    if full:
        return (start_full or shards.recompute_all_here)(as_of)
    return shards.RunSummary(mode, len(touched), rows, time.monotonic() - started)


def needs_full_run(status: RecomputeStatus, periods, touched: set, as_of: date) -> bool:
    if status.input_version == 0 or None in touched or status.as_of is None or as_of < status.as_of:
        return True
    live_first = loading.live_first_revenue_day()
    frozen_first = periods[0].start if periods else None
    if (live_first.replace(day=1) if live_first and live_first <= as_of else None) != frozen_first:
        return True  # the months covered change: every series moves
    return len(touched) > settings.RECOMPUTE_INCREMENTAL_MAX_CUSTOMERS


def recompute_current_periods(version: int, periods, last_as_of: date, as_of: date) -> int:
    """A new day: the periods that were partial (or did not exist) on the last day, every customer,
    from the frozen inputs; cases dated since that day."""
    current = [p for p in periods if p.end > last_as_of]
    # Every day these need is on or after the first s-1 (or the last day): older lines and
    # assignments are left unread.
    needed_from = min([p.before_start for p in current] + [last_as_of])
    inputs = loading.frozen_inputs(version, needed_from=needed_from)
    rows = engine.retention_rows(engine.partial_totals(inputs, current), current)
    writing.merge_cases(engine.cases(inputs, as_of, since=last_as_of), since=last_as_of)
    return writing.replace_snapshots(rows, periods_only=current)


def recompute_customers(
    version: int, periods, customer_ids: set[int], as_of: date, memberships: list[tuple], memberships_changed: bool
) -> int:
    """Take these customers' old contribution out, put their new one in, and freeze what the new
    one was computed from."""
    old = engine.partial_totals(loading.frozen_inputs(version, customer_ids=customer_ids), periods)
    live = loading.live_rows(customer_ids, memberships)
    inputs = live.inputs(loading.frozen_rates(version))  # the version's rates: a change of rates runs a full recompute
    delta = engine.partial_totals(inputs, periods).subtract(old)
    count = writing.apply_delta({key: delta.totals_of(key) for key in delta.totals}, periods)
    writing.merge_cases(engine.cases(inputs, as_of), customer_ids=customer_ids)
    loading.freeze_customers(version, customer_ids, live)
    if memberships_changed:
        loading.freeze_memberships(version, memberships)
    return count
