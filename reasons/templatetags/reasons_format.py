"""Display of the reason pages' fractions: 0.6250 -> 62.5%; undefined -> a dash."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(fraction):
    if fraction is None or fraction == "":
        return "—"
    return f"{(Decimal(fraction) * 100).quantize(Decimal('0.1'))}%"


@register.inclusion_tag("reasons/_subnav.html", takes_context=True)
def reasons_subnav(context, current=""):
    """The reason pages' own links, offering only what the viewer may open."""
    from django.urls import reverse

    from accounts.scoping import Visibility

    vis = Visibility.for_user(context["request"].user)
    links = []
    if vis.can_record_reasons():
        links.append(("queue", "Reason queue", reverse("reasons:queue")))
    links.append(("pareto", "Pareto", reverse("reasons:pareto")))
    links.append(("cases", "Cases", reverse("reasons:cases")))
    if vis.is_admin:
        links.append(("taxonomy", "Reason taxonomy", reverse("reasons:taxonomy")))
    return {"links": links, "current": current}
