"""Celery tasks: thin wrappers around ``metrics.recompute``.

A full recompute is a chord: ``recompute_all`` freezes the inputs and plans the shards, one
``compute_shard`` task per shard runs on whichever worker is free (on one machine or many, on the
same PostgreSQL and Redis), and ``finish_full`` sums them and swaps the new figures in. A shard
that dies midway is redelivered (acks late) and gives the same result; a chord whose last step
never comes stops blocking other runs after ``RECOMPUTE_STALE_SECONDS``.
"""

import logging

from celery import chord, shared_task

from .models import RecomputeStatus
from .recompute import shards, triggers
from .recompute.triggers import request_recompute  # noqa: F401  (the name signals and the importer use)

log = logging.getLogger(__name__)
RETRY = dict(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=2, max_retries=5)


def _keep_error(error: Exception) -> None:
    RecomputeStatus.objects.update_or_create(pk=1, defaults={"last_error": f"{type(error).__name__}: {error}"})


def start_full_in_workers(as_of) -> shards.RunSummary:
    run = shards.start_full(as_of)
    payload = shards.run_payload(run)
    chord(compute_shard.s(run.version, run.as_of, lo, hi) for lo, hi in run.shards)(finish_full.s(payload))
    return shards.RunSummary("full started", len(run.shards), 0, 0.0)


@shared_task(name="metrics.tasks.process_pending", **RETRY)
def process_pending_task(self):
    triggers.clear_queued_mark()
    try:
        summary = triggers.process_pending(start_full=start_full_in_workers)
    except Exception as error:
        _keep_error(error)
        raise
    log.info("recompute: %s", summary)
    return summary.__dict__


@shared_task(**RETRY)
def recompute_all(self):
    try:
        return start_full_in_workers(triggers.today()).__dict__
    except Exception as error:
        _keep_error(error)
        raise


@shared_task(**RETRY)
def compute_shard(self, version: int, as_of: str, lo: int, hi: int) -> dict:
    return shards.compute_shard(version, as_of, lo, hi)


@shared_task(**RETRY)
def finish_full(self, payloads: list[dict], run: dict) -> dict:
    try:
        summary = shards.finish_full(shards.run_from_payload(run), payloads)
    except Exception as error:
        _keep_error(error)
        raise
    log.info("recompute: %s", summary)
    triggers.wake_workers()  # changes that came in meanwhile were deferred
    return summary.__dict__
