"""Import pages: upload, preview (a task with a progress bar), apply, history, file downloads."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import tasks
from .access import admin_required
from .imports import accepted_filenames, in_file_order, progress_of
from .models import ImportFile, ImportRun, ImportStatus

HISTORY_SIZE = 50


@admin_required
def imports(request, vis):
    """The upload form and the import history."""
    errors = []
    if request.method == "POST":
        uploaded = request.FILES.getlist("files")
        accepted = accepted_filenames()
        names = [f.name for f in uploaded]
        if not uploaded:
            errors.append("Choose one or more CSV files to import.")
        for name in names:
            if name not in accepted:
                errors.append(f"{name}: not a file the import reads; name each file as one of: {', '.join(accepted)}.")
        for name in sorted({n for n in names if names.count(n) > 1}):
            errors.append(f"{name} was chosen more than once.")
        if not errors:
            with transaction.atomic():
                run = ImportRun.objects.create(created_by=request.user, step="Waiting for a worker")
                ImportFile.objects.bulk_create(
                    ImportFile(run=run, name=f.name, size=f.size, content=b"".join(f.chunks())) for f in uploaded
                )
                tasks.start(tasks.preview_import, run.pk)
            return redirect("operations:import", run.pk)
    runs = ImportRun.objects.select_related("created_by", "applied_by").prefetch_related(
        Prefetch("files", queryset=ImportFile.objects.defer("content")))[:HISTORY_SIZE]  # fmt: skip
    history = [{"run": r, "counts": in_file_order(r.counts), "files": list(r.files.all())} for r in runs]
    return render(request, "operations/imports.html", {
        "accepted": list(accepted_filenames()), "errors": errors, "history": history,
    })  # fmt: skip


def _run_context(run: ImportRun) -> dict:
    percent, step = progress_of(run)
    preview, result = dict(run.preview or {}), dict(run.result or {})
    for outcome in (preview, result):  # jsonb keeps no key order: the files in the import's order
        outcome["counts"] = in_file_order(outcome.get("counts") or {})
        outcome["samples"] = in_file_order(outcome.get("samples") or {})
    return {"run": run, "percent": percent, "step": step, "files": run.files.defer("content"),
            "preview": preview, "result": result}  # fmt: skip


@admin_required
def import_run(request, vis, pk: int):
    run = get_object_or_404(ImportRun.objects.select_related("created_by", "applied_by"), pk=pk)
    return render(request, "operations/import_run.html", _run_context(run))


@admin_required
def import_progress(request, vis, pk: int):
    run = get_object_or_404(ImportRun.objects.only("id", "status", "progress", "step"), pk=pk)
    percent, step = progress_of(run)
    return JsonResponse({"status": run.status, "running": run.running, "percent": percent, "step": step})


@admin_required
@require_POST
def import_apply(request, vis, pk: int):
    with transaction.atomic():
        # One apply per preview, however many clicks: the status moves only from ready.
        started = ImportRun.objects.filter(pk=pk, status=ImportStatus.READY).update(
            status=ImportStatus.APPLYING, progress=0, step="Waiting for a worker",
            applied_by=request.user, applied_at=timezone.now(),
        )  # fmt: skip
        if started:
            tasks.start(tasks.apply_import, pk)
    if not started:
        get_object_or_404(ImportRun, pk=pk)
        messages.error(request, "This import cannot be applied: only a clean preview is applied, once.")
    return redirect("operations:import", pk)


@admin_required
@require_POST
def import_discard(request, vis, pk: int):
    if ImportRun.objects.filter(pk=pk, status=ImportStatus.READY).update(status=ImportStatus.DISCARDED):
        messages.info(request, "The preview was discarded; nothing was imported.")
    else:
        get_object_or_404(ImportRun, pk=pk)
        messages.error(request, "Only a preview waiting to be applied can be discarded.")
    return redirect("operations:imports")


@admin_required
def import_file(request, vis, pk: int, name: str):
    upload = get_object_or_404(ImportFile, run_id=pk, name=name)
    response = HttpResponse(bytes(upload.content), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{pk}-{upload.name}"'
    return response
