"""Import pages: upload, preview (a task with a progress bar), apply, history, file downloads."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .access import admin_required
from .imports import accepted_filenames, discard, in_file_order, progress_of, upload_errors
from .models import ImportFile, ImportRun
from .runs import create_run, start_apply

HISTORY_SIZE = 50


@admin_required
def imports(request, vis):
    """The upload form and the import history."""
    errors = []
    if request.method == "POST":
        uploaded = request.FILES.getlist("files")
        errors = upload_errors([f.name for f in uploaded])
        if not errors:
            run = create_run(request.user, uploaded)
            return redirect("operations:import", run.pk)
    runs = ImportRun.objects.select_related("created_by", "applied_by").prefetch_related(
        Prefetch("files", queryset=ImportFile.objects.defer("content"))
    )[:HISTORY_SIZE]
    history = [{"run": r, "counts": in_file_order(r.counts), "files": list(r.files.all())} for r in runs]
    return render(
        request,
        "operations/imports.html",
        {
            "accepted": list(accepted_filenames()),
            "errors": errors,
            "history": history,
        },
    )


def _run_context(run: ImportRun) -> dict:
    percent, step = progress_of(run)
    preview, result = dict(run.preview or {}), dict(run.result or {})
    for outcome in (preview, result):  # jsonb keeps no key order: the files in the import's order
        outcome["counts"] = in_file_order(outcome.get("counts") or {})
        outcome["samples"] = in_file_order(outcome.get("samples") or {})
    return {
        "run": run,
        "percent": percent,
        "step": step,
        "files": run.files.defer("content"),
        "preview": preview,
        "result": result,
    }


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
    started = start_apply(pk, request.user)
    if not started:
        get_object_or_404(ImportRun, pk=pk)
        messages.error(request, "This import cannot be applied: only a clean preview is applied, once.")
    return redirect("operations:import", pk)


@admin_required
@require_POST
def import_discard(request, vis, pk: int):
    if discard(pk):
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
