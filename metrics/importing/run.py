"""The whole CSV import run: read, then check and write in one transaction, all or nothing."""

from pathlib import Path
from typing import cast

from django.db import transaction
from django.utils import timezone

from ..tasks import request_recompute
from .applying import apply
from .checks import check
from .database import Database
from .issues import ImportRejected, ImportResult
from .reading import read_directory
from .writing import _RUN, HISTORY_REASON


def run_name(directory, started) -> str:
    """How the edit history names an import run: when, and from which folder."""
    folder = Path(directory).name or str(directory)
    return f"{HISTORY_REASON} {started:%Y-%m-%d %H:%M:%S} UTC from {folder}"[:100]


def import_directory(directory, user=None) -> ImportResult:
    """Import the section 4 files found in ``directory``: all of them or, on any error, nothing.

    ``user``: who runs it; the edit history records every change under that user and the run's name."""
    rows, issues = read_directory(directory)
    token = _RUN.set((user, run_name(directory, timezone.now())))
    try:
        return _import(rows, issues)
    finally:
        _RUN.reset(token)


def _import(rows, issues) -> ImportResult:
    with transaction.atomic():
        db = Database.load(rows)
        check(rows, db, issues)
        if issues.error_count:
            raise ImportRejected(issues)
        touched: set[int | None] = set()
        result = ImportResult(apply(rows, db, touched), issues.warnings)
        if result.changed:
            # the workers start after the commit; a change of rates recomputes everything
            request_recompute(None if None in touched else cast("set[int]", touched))
    return result
