"""What cached pages must also be keyed by: risk marks (and targets) change what the pages show
(forecasts, renewal risk) without a recompute."""

from django.db.models import Max


def outlook_stamp() -> tuple:
    from .models import RiskMark

    return (RiskMark.objects.aggregate(last=Max("id"))["last"],)
