"""Starting an import run's steps: keep the uploaded files and queue the preview, or queue the
apply of a clean preview. The steps themselves are ``operations.imports`` (run by ``tasks``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from . import tasks
from .models import ImportFile, ImportRun, ImportStatus


def create_run(by: User, uploaded) -> ImportRun:
    """Keep the uploaded files as a new import run and start its preview (a task, after the commit)."""
    with transaction.atomic():
        run = ImportRun.objects.create(created_by=by, step="Waiting for a worker")
        ImportFile.objects.bulk_create(
            ImportFile(run=run, name=f.name, size=f.size, content=b"".join(f.chunks())) for f in uploaded
        )
        tasks.start(tasks.preview_import, run.pk)
    return run


def start_apply(run_id: int, by: User) -> bool:
    """Start applying a clean preview (a task); False when the run is not a preview ready to apply.
    One apply per preview, however many calls: the status moves only from ready."""
    with transaction.atomic():
        started = ImportRun.objects.filter(pk=run_id, status=ImportStatus.READY).update(
            status=ImportStatus.APPLYING,
            progress=0,
            step="Waiting for a worker",
            applied_by=by,
            applied_at=timezone.now(),
        )
        if started:
            tasks.start(tasks.apply_import, run_id)
    return bool(started)
