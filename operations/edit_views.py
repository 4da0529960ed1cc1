"""Edit pages reached from a customer's page (admins): the customer's attributes, a contract
line (edit, add, end), an assignment. The rules are the model's (``operations.edits``)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from metrics.models import Assignment, ContractLine, Customer

from . import edits
from .access import admin_required

RECOMPUTE = "The figures are being recomputed."


def _page(request, form, customer, title: str, *, submit: str = "Save", note: str = ""):
    return render(request, "operations/edit.html", {"form": form, "customer": customer, "title": title,
                                                    "submit": submit, "note": note})  # fmt: skip


def _customer(vis, pk):
    return get_object_or_404(vis.customers(Customer.objects.all()), pk=pk)


@admin_required
def customer_edit(request, vis, pk: int):
    customer = _customer(vis, pk)
    form = edits.CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid() and edits.save(form, request.user, "Edited on the customer page"):
        messages.success(request, f"{customer.name}: saved. {RECOMPUTE}")
        return redirect("operations:customer", customer.pk)
    return _page(request, form, customer, f"Edit {customer.name}")


@admin_required
def line_add(request, vis, pk: int):
    customer = _customer(vis, pk)
    form = edits.LineForm(request.POST or None, instance=ContractLine(customer=customer))
    if request.method == "POST" and form.is_valid() and edits.save(form, request.user, "Added on the customer page"):
        messages.success(request, f"Line {form.instance.external_id} added. {RECOMPUTE}")
        return redirect("operations:customer", customer.pk)
    return _page(request, form, customer, f"Add a contract line to {customer.name}", submit="Add the line")


@admin_required
def line_edit(request, vis, pk: int, line_pk: int):
    """Edit a line; ``?end=1`` is the same form to end it (the last day of service, today by default)."""
    customer = _customer(vis, pk)
    line = get_object_or_404(ContractLine, pk=line_pk, customer=customer)
    ending = request.GET.get("end") == "1"
    initial = {"end_date": timezone.localdate()} if ending and line.end_date is None else None
    form = edits.LineForm(request.POST or None, instance=line, initial=initial)
    reason = "Ended on the customer page" if ending else "Edited on the customer page"
    if request.method == "POST" and form.is_valid() and edits.save(form, request.user, reason):
        messages.success(request, f"Line {line.external_id}: saved. {RECOMPUTE}")
        return redirect("operations:customer", customer.pk)
    title = f"End line {line.external_id}" if ending else f"Edit line {line.external_id}"
    note = "Set the last day of service in “To”; the line counts no revenue after it." if ending else ""
    return _page(request, form, customer, title, submit="End the line" if ending else "Save", note=note)


@admin_required
def assignment_edit(request, vis, pk: int, assignment_pk: int):
    customer = _customer(vis, pk)
    assignment = get_object_or_404(Assignment, pk=assignment_pk, customer=customer)
    form = edits.AssignmentForm(request.POST or None, instance=assignment)
    if request.method == "POST" and form.is_valid() and edits.save(form, request.user, "Edited on the customer page"):
        messages.success(request, f"{customer.name}: the assignment is saved. {RECOMPUTE}")
        return redirect("operations:customer", customer.pk)
    note = "To hand the account to someone else from a day (ending the current owner's the day before), use “Assign from a date” on the customer page."
    return _page(request, form, customer, f"Edit a {assignment.get_role_display()} assignment of {customer.name}", note=note)
