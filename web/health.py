"""/healthz: for monitoring, no sign-in and no business data. 200 when the database and Redis
answer and the recompute is neither failing nor behind; 503 otherwise, saying which."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from metrics.models import PendingRecompute, RecomputeStatus


def recompute_health(now=None) -> dict:
    """Lag and failure of the recompute (shared with the admins' notice)."""
    now = now or timezone.now()
    status = RecomputeStatus.objects.filter(pk=1).first()
    oldest = PendingRecompute.objects.order_by("requested_at").values_list("requested_at", flat=True).first()
    lag = (now - oldest).total_seconds() if oldest else 0.0
    failing = bool(
        status and status.last_error and (not status.computed_at or (status.last_error_at or now) >= status.computed_at)
    )
    return {
        "lag_seconds": round(lag, 1),
        "behind": lag > settings.RECOMPUTE_LAG_ALERT_SECONDS,
        "failing": failing,
        "failed_at": status.last_error_at.isoformat() if failing and status and status.last_error_at else None,
        "last_success": status.computed_at.isoformat() if status and status.computed_at else None,
        "measured_as_of": status.as_of.isoformat() if status and status.as_of else None,
        "stale_day": bool(status and status.as_of and status.as_of < timezone.localdate()),
    }


@never_cache
def healthz(request):
    report, healthy = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except DatabaseError as error:
        report["database"], healthy = f"unavailable ({type(error).__name__})", False
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
            report["redis"] = "ok"
        except (redis.RedisError, OSError) as error:
            report["redis"], healthy = f"unavailable ({type(error).__name__})", False
    if report["database"] == "ok":
        recompute = recompute_health()
        report["recompute"] = recompute
        healthy = healthy and not recompute["failing"] and not recompute["behind"]
    return JsonResponse({"status": "ok" if healthy else "trouble", **report}, status=200 if healthy else 503)
