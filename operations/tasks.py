"""Celery tasks of the browser import (thin: the work is in ``operations.imports``).

With Redis they run on the workers; on the embedded default (no broker) they run in a
background thread of the web process, so the request that started them returns at once and the
page shows their progress either way.
"""

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from metrics.recompute.triggers import UNREACHABLE

from . import imports

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True)
def preview_import(self, run_id: int) -> None:
    _guarded(imports.run_preview, run_id)


@shared_task(bind=True, acks_late=True)
def apply_import(self, run_id: int) -> None:
    _guarded(imports.run_apply, run_id)


def _guarded(step, run_id: int) -> None:
    try:
        step(run_id)
    except Exception as error:
        log.exception("import %s failed", run_id)
        imports.fail(run_id, error)


def start(task, run_id: int) -> None:
    """Start ``task`` once the current transaction (which saved the run) commits."""
    transaction.on_commit(lambda: _send(task, run_id))


def _send(task, run_id: int) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_in_thread, args=(task, run_id), name=f"import-{run_id}", daemon=False).start()
        return
    try:
        task.delay(run_id)
    except UNREACHABLE as error:  # Redis is down: say so on the run rather than wait forever
        log.warning("import %s: the workers could not be reached (%s)", run_id, error)
        imports.fail(run_id, error)


def _in_thread(task, run_id: int) -> None:
    try:
        if connection.vendor == "postgresql":  # a worker's limits, not a web request's
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
                    [f"{settings.WORK_STATEMENT_TIMEOUT_MS}ms", f"{settings.WORK_LOCK_TIMEOUT_MS}ms"],
                )
        task.apply(args=[run_id])
    finally:
        close_old_connections()
        connection.close()
