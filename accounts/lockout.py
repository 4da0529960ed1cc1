"""Sign-in lockout (django-axes): failures count per normalised email, so letter case and spaces
never give an attacker fresh guesses.

Two counters lock an email: its failures from one address (``AXES_FAILURE_LIMIT``, 5 by default),
and its failures from every address together (``AXES_EMAIL_FAILURE_LIMIT``, 20), so that many
addresses do not give unlimited guesses either.
"""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def normalised_email(request, credentials) -> str | None:
    """The email as login matches it: trimmed and lower-cased (AXES_USERNAME_CALLABLE)."""
    username = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if username is None and request is not None and hasattr(request, "POST"):
        username = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return username.strip().lower() if isinstance(username, str) else username


class LockoutHandler(AxesDatabaseHandler):
    """AXES_LOCKOUT_PARAMETERS is [[username, ip_address], username]: the first counter against
    AXES_FAILURE_LIMIT, the second against AXES_EMAIL_FAILURE_LIMIT.

    Axes compares one number with one limit, so the email-wide count is scaled onto the first
    limit: ``e * limit // email_limit >= limit`` exactly when ``e >= email_limit``.
    """

    def get_failures(self, request, credentials=None) -> int:
        per_address, per_email = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit, email_limit = settings.AXES_FAILURE_LIMIT, settings.AXES_EMAIL_FAILURE_LIMIT
        return max(per_address, per_email * limit // email_limit)
