"""Celery tasks of the outlook (thin): the cohort heatmaps after each landing of the figures."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(
    name="outlook.tasks.recompute_cohorts",
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=2,
    max_retries=5,
)
def recompute_cohorts_task(self):
    from .cohort_snapshots import recompute_cohorts

    return recompute_cohorts()


def queue_cohorts() -> None:
    """Ask the workers for the cohorts of the figures that just landed (after the commit). In the
    embedded default (tasks in-process) a failure here is logged, never the recompute's failure."""
    try:
        recompute_cohorts_task.delay()
    except Exception:  # the broker down, or an in-process run failing: the next landing retries
        log.exception("cohorts: could not run or queue the heatmap recompute")


@shared_task(
    name="outlook.tasks.send_weekly_digests",
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=5,
)
def send_weekly_digests_task(self):
    """Beat runs it weekly (DIGEST_DAY_OF_WEEK, DIGEST_HOUR, DIGEST_MINUTE); a retry sends only
    the digests not sent yet."""
    from .digest import send_weekly_digests

    return send_weekly_digests()
