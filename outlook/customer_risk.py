"""The outlook's part of the customer page (operations:customer): each line's renewal status,
the risk history and the form to mark the risk (``Visibility.can_mark_risk``, metrics.scoping)."""

from __future__ import annotations

from datetime import date

from django.conf import settings

from .forms import RiskMarkForm
from .models import RiskMark
from .renewals import load_renewals

EVER = (date(1900, 1, 1), date(2999, 12, 31))


def risk_sections(vis, customer, today: date, form: RiskMarkForm | None = None) -> dict:
    """The context the customer page's renewal column, risk history and risk form read."""
    renewals = load_renewals(None, *EVER, today, settings.RENEWAL_GRACE_DAYS, customer_ids=[customer.pk])
    marks = list(RiskMark.objects.filter(customer=customer).select_related("recorded_by").order_by("-id"))
    may_mark = vis.can_mark_risk(customer.pk, today)
    return {
        "renewals_by_line": {r.line_id: r for r in renewals},
        "marks": marks,
        "current": marks[0] if marks else None,
        "may_mark": may_mark,
        "form": (form or RiskMarkForm(today=today)) if may_mark else None,
        "grace_days": settings.RENEWAL_GRACE_DAYS,
    }
