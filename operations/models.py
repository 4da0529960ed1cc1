"""Import runs: the files an admin uploaded, the dry-run preview, the outcome of applying them."""

from django.conf import settings
from django.db import models


class ImportStatus(models.TextChoices):
    PREVIEWING = "previewing", "Checking the files"
    READY = "ready", "Preview ready"
    REJECTED = "rejected", "Rejected (errors)"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed, nothing saved"
    DISCARDED = "discarded", "Discarded"


RUNNING = (ImportStatus.PREVIEWING, ImportStatus.APPLYING)


class ImportRun(models.Model):
    """One upload: previewed (a rolled-back run of the importer), then applied or discarded."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PREVIEWING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True)  # what the task is doing now
    # {"counts": {file: {created, updated, unchanged[, deleted]}}, "samples": {file: [...]},
    #  "errors": [{file, line, column, message}], "error_count": n, "warnings": [...]}
    preview = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)  # the same keys, from the real run
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    applied_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"import {self.pk} ({self.status})"

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def counts(self) -> dict:
        return (self.result or {}).get("counts") or (self.preview or {}).get("counts") or {}


class ImportFile(models.Model):
    """An uploaded file, kept in the database so that any worker (on any machine) reads it and
    the history can hand it back."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    content = models.BinaryField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="import_file_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} of import {self.run_id}"
