"""Who may use these pages: the role checks, through ``metrics.scoping.Visibility``."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from metrics.scoping import visibility


def admin_required(view):
    """Admins only (others get 403, as on every admin page of the site)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        vis = visibility(request)
        if not vis.is_admin:
            raise PermissionDenied("This page is for admins.")
        return view(request, vis, *args, **kwargs)

    return wrapped
