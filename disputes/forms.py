from django import forms
from django.utils.translation import gettext_lazy as _


class EvidenceForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What else should the arbitrator know?"),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        allow_empty_file=True,
        help_text=_("PNG, JPEG, PDF, plain text or CSV, up to 5 MB."),
    )

    def clean(self):
        data = super().clean()
        if not (data.get("text") or "").strip() and not data.get("file"):
            raise forms.ValidationError(_("Add a text or a file."))
        return data


class ArbitrationNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Decision notes"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required. The client sees these notes."),
    )
