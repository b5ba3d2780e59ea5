from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from solosales.accounts.forms import ApiTokenForm, PreferencesForm
from solosales.accounts.selectors import api_tokens_for
from solosales.accounts.services import api_token_create, api_token_revoke, user_set_preferences
from solosales.core.decorators import portal_view
from solosales.core.errors import ApplicationError


@portal_view
def tokens(request):
    new_key = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = api_token_create(user=request.user, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(
                request, _("Token “%(name)s” created. Copy it now: it is shown only once.") % {"name": token.name}
            )
            form = ApiTokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": api_tokens_for(user=request.user), "new_key": new_key},
    )


@portal_view
@require_POST
def token_revoke(request, pk: int):
    try:
        token = api_token_revoke(user=request.user, token_id=pk)
    except ApplicationError:
        raise Http404  # another client's token, or none: outsiders learn nothing
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("tokens")


@portal_view
def preferences(request):
    form = PreferencesForm(
        request.POST or None, initial={"language": request.user.language, "timezone": request.user.timezone}
    )
    if request.method == "POST" and form.is_valid():
        user_set_preferences(
            user=request.user, language=form.cleaned_data["language"], tz=form.cleaned_data["timezone"]
        )
        messages.success(request, _("Preferences saved."))
        response = redirect("preferences")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            form.cleaned_data["language"],
            samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
        return response
    return render(request, "accounts/preferences.html", {"form": form})


@require_POST
def set_language(request):
    """Django's set_language, also remembering the choice on the signed-in user."""
    response = django_set_language(request)
    lang = request.POST.get("language")
    if request.user.is_authenticated and lang in ("en", "zh-hans"):
        user_set_preferences(user=request.user, language=lang)
    return response
