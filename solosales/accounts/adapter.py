from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        lang = translation.get_language() or "en"
        user.language = "zh-hans" if lang.lower().startswith("zh") else "en"
        return super().save_user(request, user, form, commit=commit)
