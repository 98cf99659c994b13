"""Forms parse what a button sends; the rules themselves live in services/deployments.py."""

from __future__ import annotations

from django import forms


class PromoteForm(forms.Form):
    service = forms.CharField(max_length=64)
    source = forms.CharField(max_length=64)
    target = forms.CharField(max_length=64)


class RedeployForm(forms.Form):
    service = forms.CharField(max_length=64)
    environment = forms.CharField(max_length=64)
    build = forms.CharField(max_length=64)
    reason = forms.CharField(max_length=1000, required=False)


class EnvironmentActionForm(forms.Form):
    service = forms.CharField(max_length=64)
    environment = forms.CharField(max_length=64)


class ClearForm(EnvironmentActionForm):
    confirmation = forms.CharField(max_length=200, required=False)
