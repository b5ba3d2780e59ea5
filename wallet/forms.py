from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from wallet.services import ADJUSTMENT_REASONS


class TopUpForm(forms.Form):
    credits = forms.IntegerField(
        label=_("Credits"),
        error_messages={"invalid": _("Enter a whole number of credits.")},
        widget=forms.NumberInput(attrs={"step": 1, "inputmode": "numeric"}),
    )

    def __init__(self, *args, summary=None, **kwargs):
        super().__init__(*args, **kwargs)
        if summary is not None and summary.max_topup_credits:
            field = self.fields["credits"]
            field.min_value, field.max_value = summary.min_topup_credits, summary.max_topup_credits
            field.widget.attrs.update({"min": summary.min_topup_credits, "max": summary.max_topup_credits})
            # Bounds come from the active pricing version, so they are added at run time.
            field.validators += [
                MinValueValidator(summary.min_topup_credits),
                MaxValueValidator(summary.max_topup_credits),
            ]
            field.help_text = _("Between %(min)s and %(max)s credits.") % {
                "min": summary.min_topup_credits,
                "max": summary.max_topup_credits,
            }


class AdjustmentForm(forms.Form):
    email = forms.EmailField(label=_("Client email"))
    amount = forms.IntegerField(
        label=_("Credits"), help_text=_("Positive: credit the client. Negative: take credits back.")
    )
    reason_code = forms.ChoiceField(label=_("Reason"), choices=list(ADJUSTMENT_REASONS.items()))
    memo = forms.CharField(label=_("Note"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    key = forms.CharField(widget=forms.HiddenInput)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("An adjustment is a non-zero whole number of credits."))
        return amount

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = get_user_model().objects.filter(email__iexact=email, is_staff=False).first()
        if user is None:
            raise forms.ValidationError(_("No client with this email address."))
        self.cleaned_data["user"] = user
        return email
