from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation

from solosales.accounts.models import TIMEZONE_CHOICES

TIMEZONE_NAMES = {name for name, _label in TIMEZONE_CHOICES}


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        lang = translation.get_language() or "en"
        user.language = "zh-hans" if lang.lower().startswith("zh") else "en"
        # The browser's time zone (the "tz" cookie set by app.js), so times read as local from day one.
        tzname = request.COOKIES.get("tz", "") if request is not None else ""
        if tzname in TIMEZONE_NAMES:
            user.timezone = tzname
        return super().save_user(request, user, form, commit=commit)
