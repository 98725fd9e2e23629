from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, strip=True)


class ConfirmForm(forms.Form):
    """Turning two-factor sign-in off or renewing the recovery codes: the password again
    and a current code."""

    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    code = forms.CharField(label=_("Code"), max_length=40, strip=True)


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
