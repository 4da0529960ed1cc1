"""The reason pages' own navigation (their figures use ``web``'s ``retention_format`` filters)."""

from django import template

register = template.Library()


@register.inclusion_tag("reasons/_subnav.html", takes_context=True)
def reasons_subnav(context, current=""):
    """The reason pages' links, offering only what the viewer may open."""
    from django.urls import reverse

    from metrics.scoping import visibility

    vis = visibility(context["request"])
    links = []
    if vis.can_record_reasons():
        links.append(("queue", "Reason queue", reverse("reasons:queue")))
    links.append(("pareto", "Pareto", reverse("reasons:pareto")))
    links.append(("cases", "Cases", reverse("reasons:cases")))
    if vis.is_admin:
        links.append(("taxonomy", "Reason taxonomy", reverse("reasons:taxonomy")))
    return {"links": links, "current": current}
