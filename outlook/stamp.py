"""What cached pages must also be keyed by: risk marks (and targets) change what the pages show
(forecasts, renewal risk) without a recompute."""

from django.db.models import Count, Max


def outlook_stamp() -> tuple:
    from .models import RiskMark, Target

    targets = Target.objects.aggregate(changed=Max("updated_at"), count=Count("id"))
    return RiskMark.objects.aggregate(last=Max("id"))["last"], targets["changed"], targets["count"]
