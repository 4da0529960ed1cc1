"""The site's own error answers: the CSRF failure page, and how refused requests are logged.

403, 404 and 500 pages are templates (templates/403.html, 404.html, 500.html) that Django's
default handlers render; 503 (database trouble) is retention_site/database.py.
"""

from __future__ import annotations

import logging

from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    """A form sent without a valid CSRF token: say what to do, in the site's own page."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


def _status(record: logging.LogRecord) -> int | None:
    status = getattr(record, "status_code", None)
    return int(status) if status is not None else None


class RefusalWithoutTraceback(logging.Filter):
    """django.request: a refused request (4xx) is logged without its exception's traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = _status(record)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class RefusalLoggedOnce(logging.Filter):
    """django.server (runserver's line per request): 4xx answers are already logged by
    django.request, once, so runserver's repeat of them is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = _status(record)
        return not (status is not None and 400 <= status < 500)
