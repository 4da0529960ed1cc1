"""Site-wide request guards."""

from django.db import connection, transaction
from django.http import HttpResponseBadRequest, JsonResponse


class RejectNulInQueryString:
    """A query string with a NUL character is a 400: no page or filter means it, and PostgreSQL
    refuses it in a query parameter (a 500 otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = "The query string contains a NUL character."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class ConsistentReads:
    """A GET or HEAD request reads in one transaction (REPEATABLE READ on PostgreSQL), so every
    query of a page or an API response sees one committed state: a headline and the rows under
    it always come from the same recompute, even while one is landing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or request.path == "/healthz":
            return self.get_response(request)
        outermost = not connection.in_atomic_block
        if outermost:
            # Opening the transaction skips Django's connection health check (CONN_HEALTH_CHECKS):
            # run it first, so that a connection dropped by a database restart is replaced.
            connection.close_if_health_check_failed()
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return self.get_response(request)
