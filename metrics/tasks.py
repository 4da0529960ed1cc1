"""Celery tasks: thin wrappers around ``metrics.recompute``.

A full recompute is a chord: ``recompute_all`` freezes the inputs and plans the shards, one
``compute_shard`` task per shard runs on whichever worker is free (on one machine or many, on the
same PostgreSQL and Redis), and ``finish_full`` sums them and swaps the new figures in. A shard
that dies midway is redelivered (acks late) and gives the same result; a chord whose last step
never comes stops blocking other runs after ``RECOMPUTE_STALE_SECONDS``.

A task retries, with exponential backoff and jitter, only on the errors that go away by
themselves: the database or the broker unreachable, a dropped connection (Celery's Django fixup
discards an unusable connection before the retry), a statement cancelled by its timeout. Any other
error is a bug or bad data: retrying it would only repeat it, so it fails at once. Either way the
error is kept for the admins' notice.
"""

import logging

import redis.exceptions
from celery import chord, shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from .recompute import shards, triggers, writing
from .recompute.triggers import request_recompute  # noqa: F401  (the name signals and the importer use)

log = logging.getLogger(__name__)
TRANSIENT_ERRORS = (
    OperationalError,  # the database gone, restarting, or a statement cancelled by its timeout
    InterfaceError,  # a connection closed under the task
    BrokerError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_jitter": True,
    "max_retries": 8,
}


def _recorded(step, *args):
    try:
        summary = step(*args)
    except Exception as error:
        writing.record_failure(error)
        raise
    log.info("recompute: %s", summary)
    return summary


def start_full_in_workers(as_of) -> shards.RunSummary:
    run = shards.start_full(as_of)
    payload = shards.run_payload(run)
    chord(compute_shard.s(run.version, run.as_of, run.first_day, lo, hi) for lo, hi in run.shards)(
        finish_full.s(payload)
    )
    return shards.RunSummary("full started", len(run.shards), 0, 0.0)


@shared_task(name=triggers.PROCESS_PENDING_TASK, **RETRY)
def process_pending_task(self):
    triggers.clear_queued_mark()
    return _recorded(lambda: triggers.process_pending(start_full=start_full_in_workers)).__dict__


@shared_task(**RETRY)
def recompute_all(self):
    return _recorded(start_full_in_workers, triggers.today()).__dict__


@shared_task(**RETRY)
def compute_shard(self, version: int, as_of: str, first_day: str | None, lo: int, hi: int) -> dict:
    try:
        return shards.compute_shard(version, as_of, first_day, lo, hi)
    except Exception as error:
        writing.record_failure(error)
        raise


@shared_task(**RETRY)
def finish_full(self, shards_done: list[dict], run: dict) -> dict:
    summary = _recorded(shards.finish_full, shards.run_from_payload(run))
    triggers.wake_workers()  # changes that came in meanwhile were deferred
    return summary.__dict__
