"""How long a PostgreSQL wait may last, and what a user sees when the database cannot answer.

Web requests give up after a few seconds (a page then says the figures are being updated, try
again), so that a locked table or a stuck query never holds every web worker; recomputes, imports
and other commands get much longer. ``wsgi.py`` marks the process as a web server; everything
else (Celery workers, ``manage.py``) keeps the longer limits.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
SERVES_WEB = False
# PostgreSQL's codes for a wait that was cut short: lock_not_available, query_canceled.
BUSY_CODES = {"55P03", "57014"}


def serve_web() -> None:
    global SERVES_WEB
    SERVES_WEB = True


def timeouts() -> tuple[int, int]:
    """(statement_timeout, lock_timeout) in milliseconds for this process's connections."""
    if SERVES_WEB:
        return settings.WEB_STATEMENT_TIMEOUT_MS, settings.WEB_LOCK_TIMEOUT_MS
    return settings.WORK_STATEMENT_TIMEOUT_MS, settings.WORK_LOCK_TIMEOUT_MS


@receiver(connection_created)
def set_timeouts(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        statement, lock = timeouts()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
                [f"{statement}ms", f"{lock}ms"],
            )


def is_database_trouble(error: BaseException | None) -> bool:
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DatabaseError) and getattr(error.__cause__, "sqlstate", None) in BUSY_CODES
    )


def trouble_response(request, error: BaseException):
    """503: 'being updated' for a wait cut short, 'temporarily unavailable' for a database gone;
    JSON for the API, the site's own page otherwise."""
    busy = getattr(error.__cause__, "sqlstate", None) in BUSY_CODES
    message = (
        "The figures are being updated; try again in a moment."
        if busy
        else "The database is temporarily unavailable; try again in a moment."
    )
    log.warning("%s %s: %s (%s)", request.method, request.path, message, error)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        html = render_to_string("503.html", {"message": message, "busy": busy, "path": request.get_full_path()})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = "5"
    return response


class DatabaseTrouble:
    """A view that meets database trouble answers 503 with a clear message, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_trouble(exception):
            return trouble_response(request, exception)
        return None


def server_error(request):
    """handler500: database trouble met outside a view (in a middleware) gets the same 503."""
    import sys

    error = sys.exc_info()[1]
    if is_database_trouble(error):
        return trouble_response(request, error)
    from django.views.defaults import server_error as default

    return default(request)
