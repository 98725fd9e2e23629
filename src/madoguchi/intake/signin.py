"""A requester signs in with a one-time code mailed to their address (where no identity
provider is configured, or beside one): ``/signin/`` asks for the address, mails a
six-digit code and asks for it; a right code signs the session in
(``accounts.requester``). The code lives only as a keyed hash in the asking session,
is valid ``REQUESTER_CODE_MINUTES`` and ``REQUESTER_CODE_ATTEMPTS`` tries; asking is
throttled per address, per client and by the desk-wide cap on requester-triggered mail.
The answer to "send a code" is the same whether or not the desk knows the address."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from madoguchi.accounts import requester
from madoguchi.core.clock import now
from madoguchi.core.i18n import desk_lang
from madoguchi.core.ratelimit import client_address, hit
from madoguchi.mail.outbox import queue_mail
from madoguchi.mail.outbox import render as render_mail
from madoguchi.privacy import audit
from madoguchi.web.redirects import local_path

PENDING_KEY = "madoguchi_signin_pending"
CODE_DIGITS = 6


def _digest(email: str, code: str) -> str:
    key = hashlib.sha256(f"requester-signin:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{email}\x00{code}".encode(), hashlib.sha256).hexdigest()


class AddressForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address"), max_length=254)


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=12)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
            raise forms.ValidationError(_("Enter the six-digit code from the mail."), "format")
        return code


def send_code(request: HttpRequest, email: str) -> bool:
    """Mail a new code to ``email`` and remember its hash in this session; False when a
    limit stops it (nothing is sent then)."""
    email = email.strip().lower()
    validate_email(email)
    if not (
        hit("signin-client", client_address(request), settings.REQUESTER_CODE_RATE)
        and hit("signin-address", email, settings.REQUESTER_CODE_RATE)
    ):
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    lang = desk_lang()
    subject, body = render_mail(
        "signin_code", lang, {"code": code, "minutes": str(settings.REQUESTER_CODE_MINUTES)}
    )
    with transaction.atomic():
        if queue_mail(kind="signin_code", to=email, subject=subject, body=body) is None:
            return False
        audit.record("requester.code_sent", actor_kind="requester", detail={"via": "code"})
    request.session[PENDING_KEY] = {
        "email": email,
        "digest": _digest(email, code),
        "until": (now() + dt.timedelta(minutes=settings.REQUESTER_CODE_MINUTES)).isoformat(),
        "tries": 0,
    }
    return True


def pending_address(request: HttpRequest) -> str:
    pending = request.session.get(PENDING_KEY)
    return pending.get("email", "") if isinstance(pending, dict) else ""


def check_code(request: HttpRequest, code: str) -> str:
    """ "ok" (signed in), "wrong" (try again) or "expired" (ask for a new code)."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return "expired"
    try:
        until = dt.datetime.fromisoformat(pending["until"])
        tries = int(pending["tries"]) + 1
        email, digest = str(pending["email"]), str(pending["digest"])
    except (KeyError, TypeError, ValueError):
        request.session.pop(PENDING_KEY, None)
        return "expired"
    if now() > until or tries > settings.REQUESTER_CODE_ATTEMPTS:
        request.session.pop(PENDING_KEY, None)
        return "expired"
    if not hmac.compare_digest(digest, _digest(email, code)):
        pending["tries"] = tries
        request.session[PENDING_KEY] = pending
        if tries >= settings.REQUESTER_CODE_ATTEMPTS:
            request.session.pop(PENDING_KEY, None)
            return "expired"
        return "wrong"
    request.session.pop(PENDING_KEY, None)
    requester.sign_in(request, email=email, via="code")
    audit.record("requester.signed_in", actor_kind="requester", detail={"via": "code"})
    return "ok"


@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """Step 1 (address) and step 2 (code) on one page; ``next`` is where to go after."""
    next_url = local_path(request.POST.get("next") or request.GET.get("next"))
    identity = requester.current(request)
    context: dict[str, Any] = {"next": next_url, "identity": identity}
    step = request.POST.get("step", "")
    status = 200
    context["codes"] = settings.REQUESTER_CODE_SIGNIN
    if step in ("address", "code") and not settings.REQUESTER_CODE_SIGNIN:
        step = ""  # this desk signs requesters in through its identity provider only
    if request.method == "POST" and step == "address":
        form = AddressForm(request.POST)
        if form.is_valid():
            if send_code(request, form.cleaned_data["email"]):
                context["sent"] = True
            else:
                context["limited"] = True
                status = 429
        context["address_form"] = form
    elif request.method == "POST" and step == "code":
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            outcome = check_code(request, code_form.cleaned_data["code"])
            if outcome == "ok":
                return redirect(next_url)
            if outcome == "wrong":
                code_form.add_error("code", _("That code is not right. Check the mail again."))
            else:
                context["expired"] = True
        context["code_form"] = code_form
    elif request.method == "POST" and step == "out":
        requester.sign_out(request)
        return redirect(next_url)
    address = pending_address(request)
    context["address"] = address
    context.setdefault("address_form", AddressForm(initial={"email": address}))
    if address and not context.get("expired"):
        context.setdefault("code_form", CodeForm())
    else:
        context.pop("code_form", None)
    context["minutes"] = settings.REQUESTER_CODE_MINUTES
    return render(request, "intake/signin.html", context, status=status)
