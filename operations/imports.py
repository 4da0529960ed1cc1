"""The browser import: a dry run of the CSV importer (``metrics.importing``) that says what the
files would do, then the real, all-or-nothing run.

The preview calls the importer's own steps (``read_directory``, ``Database.load``, ``check``,
``apply``) inside a transaction that is always rolled back, so its errors are the command's
errors, word for word, and its counts are what applying the same files to the same database
writes. It also lists a sample of the rows it would change, old value to new, from the
database rows the importer loaded. Applying runs ``import_directory``, exactly as
``manage.py import_data`` does (a recompute is queued after the commit).

Both run as tasks (``operations.tasks``); progress goes to the cache, so a page can show it
while the task's transaction is still open.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from metrics import importing
from metrics.importing import FILES, Database, ImportRejected, Issue
from metrics.recompute.triggers import UNREACHABLE

from .models import ImportFile, ImportRun, ImportStatus

SAMPLE_UPDATES = 10  # changed rows shown per file
SAMPLE_CREATES = 5  # new rows named per file
PROGRESS_KEY = "retention:import-progress:{}"


def accepted_filenames() -> dict[str, str]:
    """{file name: kind} of every file the importer reads (fx_rates.csv too once it exists)."""
    return {spec.filename: kind for kind, spec in FILES.items()}


# --- starting, applying, discarding (the pages and the API) -----------------------------


def upload_errors(names: list[str]) -> list[str]:
    """Why a set of uploaded file names cannot be imported (empty: they can)."""
    accepted = accepted_filenames()
    errors = [] if names else ["Choose one or more CSV files to import."]
    for name in names:
        if name not in accepted:
            errors.append(f"{name}: not a file the import reads; name each file as one of: {', '.join(accepted)}.")
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"{name} was chosen more than once.")
    return errors


def discard(run_id: int) -> bool:
    """Discard a preview waiting to be applied; False when the run is not one."""
    return bool(ImportRun.objects.filter(pk=run_id, status=ImportStatus.READY).update(status=ImportStatus.DISCARDED))


# --- progress -----------------------------------------------------------------------------


def set_progress(run_id: int, percent: int, step: str) -> None:
    """Progress of a running task: in the cache (seen at once, whatever transaction the task is in)."""
    with contextlib.suppress(*UNREACHABLE):
        cache.set(PROGRESS_KEY.format(run_id), (percent, step), timeout=3600)


def progress_of(run: ImportRun) -> tuple[int, str]:
    if run.running:
        try:
            cached = cache.get(PROGRESS_KEY.format(run.pk))
        except UNREACHABLE:
            cached = None
        if cached:
            return cached
    return run.progress, run.step


# --- files ------------------------------------------------------------------------------


def write_files(run: ImportRun, directory: Path) -> None:
    for name, content in run.files.values_list("name", "content"):
        (directory / name).write_bytes(bytes(content))


def in_file_order(counts: dict) -> dict:
    """Counts per file in the import's dependency order (FILES), as the command lists the files."""
    order = [spec.filename for spec in FILES.values()]
    return dict(sorted(counts.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def issue_dict(issue: Issue) -> dict:
    return {
        "file": issue.file,
        "line": issue.line,
        "column": issue.column or "",
        "message": issue.message,
        "text": str(issue),
    }


def _issues(errors, error_count, warnings) -> dict:
    return {
        "errors": [issue_dict(e) for e in errors],
        "error_count": error_count,
        "warnings": [issue_dict(w) for w in warnings],
    }


# --- the dry run --------------------------------------------------------------------------


class _DryRun(Exception):
    """Raised to roll the dry run's transaction back."""


def preview_directory(directory: Path, progress: Callable[[int, str], None]) -> dict:
    """What importing ``directory`` would do, nothing saved: the errors, or the counts per file
    and a sample of the changes."""
    progress(5, "Reading the files")
    rows, issues = importing.read_directory(directory)
    outcome: dict = {}
    try:
        with transaction.atomic():
            progress(20, "Loading the rows the files touch from the database")
            db = Database.load(rows)
            progress(25, "Checking references and overlaps")
            importing.check(rows, db, issues)
            if issues.error_count:
                outcome = _issues(issues.errors, issues.error_count, issues.warnings)
                raise _DryRun
            progress(35, "Comparing with the database")
            samples = sample_changes(rows, db)
            progress(40, "Dry run of the writes (rolled back)")
            counts = importing.apply(rows, db, set())
            outcome = {"counts": in_file_order(counts), "samples": samples, **_issues([], 0, issues.warnings)}
            raise _DryRun
    except _DryRun:
        pass
    except IntegrityError as error:  # the database's own constraints refused a row
        outcome = {
            "counts": {},
            **_issues([], 1, issues.warnings),
            "errors": [
                {
                    "file": "",
                    "line": 0,
                    "column": "",
                    "message": str(error),
                    "text": f"The database refused the import: {error}",
                }
            ],
        }
    progress(100, "Done")
    return outcome


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def sample_changes(rows: dict[str, list], db: Database) -> dict[str, dict]:
    """{file name: {"updated": [{"key", "changes": [[column, old, new], ...]}], "created": [key, ...]}}
    for the first rows of each file that would change, read from the rows the importer loaded."""
    emails = {u["id"]: email for email, u in db.users.items()}
    lead_ids = {t["lead_id"] for t in db.teams.values() if t["lead_id"] and t["lead_id"] not in emails}
    emails |= dict(User.objects.filter(id__in=lead_ids).values_list("id", "email"))
    team_names = {t["id"]: name for name, t in db.teams.items()}
    customer_ext = {c["id"]: ext for ext, c in db.customers.items()}
    missing = {a.user_id for group in db.assignments.values() for a in group} - set(emails)
    emails |= dict(User.objects.filter(id__in=missing).values_list("id", "email"))

    def existing(kind, v):
        if kind == "teams":
            t = db.teams.get(v["name"])
            return t and {"function": t["function"], "lead_email": emails.get(t["lead_id"])}
        if kind == "users":
            u = db.users.get(v["email"])
            return u and {"full_name": u["full_name"], "role": u["role"]}
        if kind == "team_memberships":
            u = db.users.get(v["email"])
            found = [m for m in db.memberships.get(u["id"], []) if m["start_date"] == v["start_date"]] if u else []
            return found and {"team": team_names.get(found[0]["team_id"]), "end_date": found[0]["end_date"]}
        if kind == "customers":
            return db.customers.get(v["external_id"])
        if kind == "contracts":
            line = db.lines.get(v["external_id"])
            return line and {**line._asdict(), "customer_external_id": customer_ext.get(line.customer_id)}
        if kind == "assignments":
            c = db.customers.get(v["customer_external_id"])
            found = (
                [a for a in db.assignments.get(c["id"], []) if a.role == v["role"] and a.start_date == v["start_date"]]
                if c
                else []
            )
            return found and {"email": emails.get(found[0].user_id), "end_date": found[0].end_date}
        return None

    keys = {
        "teams": ("name",),
        "users": ("email",),
        "team_memberships": ("email", "start_date"),
        "customers": ("external_id",),
        "contracts": ("external_id",),
        "assignments": ("customer_external_id", "role", "start_date"),
    }
    samples = {}
    for kind, file_rows in rows.items():
        if kind not in keys:  # a file this preview does not know how to compare: counts only
            continue
        updated: list = []
        created: list = []
        for row in file_rows:
            if len(updated) >= SAMPLE_UPDATES and len(created) >= SAMPLE_CREATES:
                break
            v = row.values
            key = " · ".join(_shown(v[k]) for k in keys[kind])
            before = existing(kind, v)
            if not before:
                if len(created) < SAMPLE_CREATES:
                    created.append(key)
                continue
            changes = []
            for column, new in v.items():
                if column in keys[kind] or column not in before:
                    continue
                if kind == "users" and column == "role" and not new:
                    continue  # an empty role never demotes anyone
                if _shown(before[column]) != _shown(new):
                    changes.append([column, _shown(before[column]), _shown(new)])
            if changes and len(updated) < SAMPLE_UPDATES:
                updated.append({"key": key, "changes": changes})
        samples[FILES[kind].filename] = {"updated": updated, "created": created}
    return samples


# --- the tasks' bodies ------------------------------------------------------------------


def run_preview(run_id: int) -> None:
    run = ImportRun.objects.get(pk=run_id)
    progress = lambda percent, step: set_progress(run_id, percent, step)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        write_files(run, Path(tmp))
        try:
            outcome = preview_directory(Path(tmp), progress)
        except FileNotFoundError as error:
            outcome = {
                "counts": {},
                **_issues([], 1, []),
                "errors": [{"file": "", "line": 0, "column": "", "message": str(error), "text": str(error)}],
            }
    status = ImportStatus.REJECTED if outcome.get("error_count") else ImportStatus.READY
    ImportRun.objects.filter(pk=run_id).update(
        preview=outcome, status=status, progress=100, step="", finished_at=timezone.now()
    )


def run_apply(run_id: int) -> None:
    """``import_directory`` on the run's files; the outcome is saved in the import's own
    transaction when it succeeds (the recompute it queues starts after that one commit)."""
    run = ImportRun.objects.get(pk=run_id)
    set_progress(run_id, 10, "Writing every file, all or nothing")
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        write_files(run, Path(tmp))
        try:
            with transaction.atomic():
                result = importing.import_directory(Path(tmp))
                outcome = {
                    "counts": in_file_order(result.counts),
                    "changed": result.changed,
                    **_issues([], 0, result.warnings),
                }
                ImportRun.objects.filter(pk=run_id).update(
                    result=outcome, status=ImportStatus.APPLIED, progress=100, step="", finished_at=timezone.now()
                )
            return
        except ImportRejected as rejected:
            outcome = _issues(rejected.errors, rejected.error_count, rejected.warnings)
        except IntegrityError as error:  # a concurrent change beat this run to a key: nothing saved
            text = f"The database refused the import, nothing was saved: {error}"
            outcome = {
                **_issues([], 1, []),
                "errors": [{"file": "", "line": 0, "column": "", "message": text, "text": text}],
            }
    ImportRun.objects.filter(pk=run_id).update(
        result=outcome, status=ImportStatus.FAILED, progress=100, step="", finished_at=timezone.now()
    )


def fail(run_id: int, error: BaseException) -> None:
    """A task that died: the run says so (nothing was saved: the importer's transaction rolled back)."""
    text = f"The task failed ({type(error).__name__}: {error}); nothing was saved."
    outcome = {**_issues([], 1, []), "errors": [{"file": "", "line": 0, "column": "", "message": text, "text": text}]}
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    if run.status == ImportStatus.PREVIEWING:
        ImportRun.objects.filter(pk=run_id).update(
            preview=outcome, status=ImportStatus.REJECTED, finished_at=timezone.now()
        )
    elif run.status == ImportStatus.APPLYING:
        ImportRun.objects.filter(pk=run_id).update(
            result=outcome, status=ImportStatus.FAILED, finished_at=timezone.now()
        )


def file_names(run: ImportRun) -> list[str]:
    return list(ImportFile.objects.filter(run=run).values_list("name", flat=True))
