from django import forms
from django.utils.translation import gettext_lazy as _

from solosales.accounts.models import TIMEZONE_CHOICES


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100, help_text=_("For example: CRM sync"))


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=[("en", "English"), ("zh-hans", "简体中文")])
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
