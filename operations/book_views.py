"""Books pages: move a whole book (with a preview), assign one account from a customer's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from metrics.scoping import visibility
from metrics.models import Customer

from .books import AssignForm, BookChanged, MoveForm, carry_out, expected_ids, move_reason, preview_rows


def _changer(request):
    vis = visibility(request)
    if not (vis.is_admin or vis.led_team_ids):
        raise PermissionDenied("Books are changed by admins and team leads.")
    return vis


@login_required
def books(request):
    """Move a book: the form, then the preview of what moves, then the confirmation."""
    vis = _changer(request)
    data = request.POST if request.method == "POST" else request.GET if "start_date" in request.GET else None
    form = MoveForm(vis, data, initial={"from_user": request.GET.get("from_user")})
    preview = None
    if data is not None and form.is_valid():
        plan, giver, taker = form.cleaned_data["plan"], form.cleaned_data["from_user"], form.cleaned_data["to_user"]
        day, role = form.cleaned_data["start_date"], form.cleaned_data["role"]
        if request.method == "POST":
            expected = {int(i) for i in request.POST.getlist("expected") if i.isdigit()}
            reason = move_reason(giver, taker, role, day)
            try:
                moved = carry_out(plan, taker.pk, request.user, reason, expected=expected)
            except BookChanged:
                messages.error(request, "The book changed since the preview; here is the preview again.")
            else:
                messages.success(request, f"{moved} account{'s' if moved != 1 else ''} of {giver.email} go{'' if moved != 1 else 'es'} to "
                                          f"{taker.email} from {day}. The figures are being recomputed.")  # fmt: skip
                return redirect("operations:books")
        preview = {"moves": preview_rows(plan, day), "expected": expected_ids(plan),
                   "giver": giver, "taker": taker, "day": day, "role": role}  # fmt: skip
    return render(request, "operations/books.html", {"form": form, "preview": preview})


@login_required
@require_POST
def assign(request, pk: int):
    """Assign one account to an owner from a date (the form on the customer's page)."""
    vis = _changer(request)
    customer = get_object_or_404(vis.customers(Customer.objects.all()), pk=pk)
    form = AssignForm(vis, customer, request.POST, prefix="assign")
    if not form.is_valid():
        for error in [*form.non_field_errors(), *(f"{form[n].label}: {e}" for n, errs in form.errors.items() if n != "__all__" for e in errs)]:
            messages.error(request, error)
        return redirect("operations:customer", pk)
    user: User = form.cleaned_data["user"]
    role, day = form.cleaned_data["role"], form.cleaned_data["start_date"]
    try:
        carry_out(form.cleaned_data["plan"], user.pk, request.user, f"Assigned {role} to {user.email} from {day}")
    except BookChanged:
        messages.error(request, "The account's assignments changed meanwhile; try again.")
    else:
        messages.success(request, f"{customer.name}: {user.email} is the {role} from {day}. The figures are being recomputed.")
    return redirect("operations:customer", pk)


