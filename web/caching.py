"""Pages between recomputes cost almost nothing: a page's HTML is kept under the figures'
generation, which every recompute bumps, so a cached page never outlives the figures it shows.

The key holds the session (the page carries that session's CSRF token and its user's scope),
the full path, the generation, the "updating" state of the banner and, for admins, whether a
change has waited too long (their notice). Pages with a flash message to show, and CSV
downloads, are never cached. If the cache (Redis) cannot be reached, pages are rendered as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
from functools import wraps

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone

from metrics import queries
from metrics.recompute.triggers import UNREACHABLE
from metrics.scoping import visibility
from outlook.stamp import outlook_stamp

from .health import recompute_health

PAGE_SECONDS = 600


def page_key(request) -> str | None:
    status, pending = queries.recompute_status()
    if status is None or not request.session.session_key:
        return None
    behind = status.as_of is not None and status.as_of < timezone.localdate()
    # Admins' notice of a change waiting too long (web/health.py) appears without a recompute.
    lagging = pending and visibility(request).is_admin and recompute_health()["behind"]
    parts = [
        request.session.session_key,
        request.user.pk,
        request.user.role,
        request.get_full_path(),
        status.generation,
        pending,
        behind,
        status.last_error_at,
        lagging,
        outlook_stamp(),
    ]
    return "page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def cached_by_generation(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or "format" in request.GET or len(messages.get_messages(request)):
            return view(request, *args, **kwargs)
        key = page_key(request)
        if key is None:
            return view(request, *args, **kwargs)
        try:
            html = cache.get(key)
        except UNREACHABLE:
            return view(request, *args, **kwargs)
        if html is not None:
            return HttpResponse(html)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            with contextlib.suppress(*UNREACHABLE):
                cache.set(key, response.content, PAGE_SECONDS)
        return response

    return wrapper
