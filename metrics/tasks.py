"""Celery tasks: thin wrappers around metrics.snapshots, plus the coalescing trigger."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from . import snapshots
from .models import PendingRecompute, RecomputeStatus

log = logging.getLogger(__name__)
QUEUED_KEY = "retention:recompute-queued"


def request_recompute(customer_ids=None) -> None:
    """Ask the workers to recompute after the current transaction commits (None = everything).

    The trigger is a row written in the caller's transaction, so it commits or rolls back with
    the change itself; many triggers before the worker starts are coalesced into one run.
    """
    if customer_ids is None:
        PendingRecompute.objects.create(customer_id=None)
    else:
        PendingRecompute.objects.bulk_create(PendingRecompute(customer_id=pk) for pk in set(customer_ids))
    transaction.on_commit(enqueue_processing)


# What an unreachable Redis raises, as cache or as broker.
UNREACHABLE = (RedisError, BrokerError, OSError)


def enqueue_processing() -> None:
    """Wake the workers. The change and its pending row are committed already: if Redis cannot
    be reached, that is a warning, and the beat sweep (``process_pending`` every minute) or the
    next wake carries the change out once Redis is back."""
    # One queued task at a time; the task clears the mark when it starts, so a change that
    # commits during a run queues the next one.
    try:
        if cache.add(QUEUED_KEY, 1, timeout=600):
            process_pending.delay()
    except UNREACHABLE as error:
        log.warning("Recompute queued but the workers could not be woken (%s): the next sweep runs it.", error)
        try:
            cache.delete(QUEUED_KEY)  # so that the next change tries to wake them again
        except UNREACHABLE:
            pass


def _run(step) -> dict:
    """Run a snapshot step, keeping its error for the pages; Celery retries the task."""
    try:
        summary = step()
    except Exception as error:
        RecomputeStatus.objects.update_or_create(pk=1, defaults={"last_error": f"{type(error).__name__}: {error}"})
        raise
    log.info("recompute: %s", summary)
    return summary.__dict__


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=2, max_retries=5)
def process_pending(self):
    try:
        cache.delete(QUEUED_KEY)
    except UNREACHABLE:
        pass
    return _run(snapshots.process_pending)


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=2, max_retries=5)
def recompute_all(self):
    return _run(snapshots.recompute_all)
