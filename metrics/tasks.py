"""Celery tasks: thin wrappers around metrics.snapshots, plus the coalescing trigger."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

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


def enqueue_processing() -> None:
    # One queued task at a time; the task clears the mark when it starts, so a change that
    # commits during a run queues the next one.
    if cache.add(QUEUED_KEY, 1, timeout=600):
        process_pending.delay()


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
    cache.delete(QUEUED_KEY)
    return _run(snapshots.process_pending)


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=2, max_retries=5)
def recompute_all(self):
    return _run(snapshots.recompute_all)
