"""Console pages for a requester's data (faculty staff and administrators): find their
inquiries by address or identity-provider key, download everything, or carry out an
erasure request."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.inquiries import access
from madoguchi.web.decorators import staff_required

from . import requester


class RequesterForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address"), required=False, max_length=254)
    key = forms.CharField(
        label=gettext_lazy("Identity provider key"), required=False, max_length=300
    )

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if not data.get("email") and not data.get("key"):
            raise forms.ValidationError(_("Give an email address or an identity provider key."))
        return data


def _allowed(request: HttpRequest) -> None:
    if not access.can_manage_requester_data(request.user):
        raise Http404


@staff_required
@require_http_methods(["GET"])
def requester_data(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form = RequesterForm(request.GET or None)
    rows = []
    if form.is_valid():
        rows = list(
            requester.iter_summary(list(requester.inquiries_of(request.user, **form.cleaned_data)))
        )
    return render(request, "console/requester_data.html", {"form": form, "rows": rows})


@staff_required
@require_POST
def requester_export(request: HttpRequest) -> FileResponse:
    _allowed(request)
    form = RequesterForm(request.POST)
    if not form.is_valid():
        raise Http404
    data, _count = requester.export_zip(request.user, **form.cleaned_data)
    response = FileResponse(
        data,
        as_attachment=True,
        filename="madoguchi-requester-data.zip",
        content_type="application/zip",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
@require_POST
def requester_erase(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form = RequesterForm(request.POST)
    if not form.is_valid() or request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the erasure."))
        return redirect("console:requester-data")
    done = requester.erase(request.user, **form.cleaned_data)
    messages.success(
        request,
        _(
            "Erasure done: %(anonymised)s inquiries anonymised, %(held)s on legal hold kept, "
            "%(already)s anonymised before."
        )
        % done,
    )
    return redirect("console:requester-data")
