"""The page where a signed-in user creates, names and revokes its API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .forms import NewTokenForm
from .models import ApiToken


@login_required
def tokens(request):
    new_key = None
    form = NewTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, new_key = ApiToken.issue(request.user, form.cleaned_data["name"])
        form = NewTokenForm()  # the key is rendered in this response only, never stored or shown again
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "new_key": new_key, "tokens": ApiToken.objects.filter(user=request.user)},
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.revoke()
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api-tokens")
