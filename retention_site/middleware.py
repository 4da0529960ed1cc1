"""Site-wide request guards."""

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
