"""Page-side middleware."""

from django.conf import settings

from metrics.recompute import triggers


class CatchUpOnEmbeddedDefault:
    """On the embedded default (no Celery workers, no beat) a page view of a new day starts that
    day's figures in the background; the page answers at once and says they are being updated."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CELERY_TASK_ALWAYS_EAGER and request.method == "GET" and not request.path.startswith("/static/"):
            triggers.catch_up_if_behind()
        return response
