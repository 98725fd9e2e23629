"""Staff sign-in: the password step (Django's ``LoginView`` with the throttled form),
the second step with a code, enrolment and the two-factor page, password reset.

Between the steps the session holds a *pending* sign-in (``PENDING``: the user's id, the
backend, the account's session hash, where to go next, when the password was right) and
is **not** signed in; the pending sign-in lapses after ``PENDING_SECONDS`` or when the
password changes. Only ``finish`` signs in, through ``django.contrib.auth.login`` (which
rotates the session key and stamps its lifetime)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from madoguchi.accounts import totp
from madoguchi.core.clock import now
from madoguchi.core.ratelimit import client_address
from madoguchi.web import throttle
from madoguchi.web.throttle import ThrottledAuthenticationForm

from . import actions, passwords, sealing
from .forms import CodeForm, ConfirmForm, ResetRequestForm

PENDING = "madoguchi_2fa_pending"
CANDIDATE = "madoguchi_2fa_candidate"
PENDING_SECONDS = 600


# --- the pending sign-in ----------------------------------------------------------------


def _begin_pending(request: HttpRequest, user: Any, *, step: str, next_url: str) -> None:
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,  # set by authenticate()
        "hash": user.get_session_auth_hash(),
        "next": next_url,
        "step": step,
        "at": now().timestamp(),
    }


def _pending(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None
    user_id = data.get("user")
    if not isinstance(user_id, int):
        return None
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    fresh = now().timestamp() - float(data.get("at", 0)) < PENDING_SECONDS
    if user is None or not fresh or user.get_session_auth_hash() != data.get("hash"):
        request.session.pop(PENDING, None)
        request.session.pop(CANDIDATE, None)
        return None
    return user, data


def _finish(request: HttpRequest, user: Any, data: dict[str, Any]) -> str:
    """Sign in for real; returns where to go."""
    request.session.pop(PENDING, None)
    login(request, user, backend=data["backend"])
    return str(data.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))


def _expired(request: HttpRequest) -> HttpResponse:
    messages.info(request, gettext("The sign-in took too long. Please sign in again."))
    return redirect("login")


# --- the password step ------------------------------------------------------------------


class StaffLoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = ThrottledAuthenticationForm

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        step = actions.second_step_for(user)
        if step is None:
            return super().form_valid(form)
        if self.request.user.is_authenticated:
            logout(self.request)  # someone else's sign-in does not wait beside the pending one
        _begin_pending(self.request, user, step=step, next_url=self.get_success_url())
        return redirect("staffauth:code" if step == "code" else "staffauth:enrol")


@never_cache
def admin_login(request: HttpRequest) -> HttpResponseBase:
    """The admin's sign-in page (``/admin/login/``) with the same steps: Django's own
    would sign an enrolled administrator in on the password alone."""
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": gettext("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    request.current_app = site.name
    view = StaffLoginView.as_view(
        extra_context=context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )
    return view(request)


# --- the second step --------------------------------------------------------------------


def _check_code(request: HttpRequest, user: Any, typed: str) -> str | None:
    """Throttled like the password step; returns the error to show, None when right."""
    address = client_address(request)
    attempt = throttle.begin(user.get_username(), address, step="code")
    if not attempt.allowed:
        return throttle.locked_message(attempt.retry_after)
    if actions.check_second_factor(user, typed) is not None:
        throttle.succeeded(attempt)
        return None
    seconds = throttle.failed(attempt, user.get_username(), address)
    if seconds:
        return throttle.locked_message(seconds)
    return gettext("The code is not correct, or it was used already.")


@never_cache
@sensitive_post_parameters("code")
def code_step(request: HttpRequest) -> HttpResponseBase:
    pending = _pending(request)
    if pending is None:
        return _expired(request)
    user, data = pending
    if data.get("step") != "code":
        return redirect("staffauth:enrol")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        problem = _check_code(request, user, form.cleaned_data["code"])
        if problem is None:
            return redirect(_finish(request, user, data))
        error = problem
    return render(request, "staffauth/code.html", {"form": form, "error": error})


# --- enrolment and the two-factor page --------------------------------------------------


def _enrolling(request: HttpRequest) -> tuple[Any, dict[str, Any] | None] | None:
    """The signed-in user, or the one whose password was right and who must enrol."""
    if request.user.is_authenticated:
        return request.user, None
    pending = _pending(request)
    if pending is not None and pending[1].get("step") == "enrol":
        return pending
    return None


def _issuer() -> str:
    return urlsplit(settings.SITE_URL).hostname or "madoguchi"


def _candidate(request: HttpRequest, user: Any) -> str:
    """The secret being enrolled, kept sealed in the session until its first code."""
    sealed = request.session.get(CANDIDATE)
    if isinstance(sealed, str):
        try:
            return sealing.unseal(sealed, owner=user.pk, label="totp-candidate")
        except sealing.SealError:
            pass
    secret = totp.new_secret()
    request.session[CANDIDATE] = sealing.seal(secret, owner=user.pk, label="totp-candidate")
    return secret


def _qr_svg(uri: str) -> str:
    return str(
        segno.make(uri, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", title=gettext("QR code to scan")
        )
    )


@never_cache
@sensitive_post_parameters("code")
def enrol(request: HttpRequest) -> HttpResponseBase:
    was_pending = PENDING in request.session
    who = _enrolling(request)
    if who is None:
        if was_pending or request.method == "POST":
            return _expired(request)
        return redirect_to_login(request.get_full_path())
    user, pending = who
    if actions.device_of(user) is not None:
        return redirect("staffauth:two_factor")
    secret = _candidate(request, user)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        address = client_address(request)
        attempt = throttle.begin(user.get_username(), address, step="code")
        step = actions.secret_matches(secret, form.cleaned_data["code"])
        if not attempt.allowed:
            error = throttle.locked_message(attempt.retry_after)
        elif step is None:
            seconds = throttle.failed(attempt, user.get_username(), address)
            error = (
                throttle.locked_message(seconds)
                if seconds
                else gettext("The code is not correct. Check the time on your phone and try again.")
            )
        else:
            throttle.succeeded(attempt)
            codes = actions.do_enrol_totp(user, secret, step)
            request.session.pop(CANDIDATE, None)
            next_url = reverse("staffauth:two_factor")
            if pending is not None:
                next_url = _finish(request, user, pending)
            return _show_recovery_codes(request, codes, next_url)
    uri = totp.provisioning_uri(secret, account=user.get_username(), issuer=_issuer())
    return render(
        request,
        "staffauth/enrol.html",
        {
            "form": form,
            "error": error,
            "uri": uri,
            "qr": mark_safe(_qr_svg(uri)),  # noqa: S308  # segno's SVG of our own URI
            "grouped_secret": totp.grouped(secret),
            "required": pending is not None,
        },
    )


def _show_recovery_codes(request: HttpRequest, codes: list[str], next_url: str) -> HttpResponse:
    """Shown once, in the response to the POST that made them (never stored readable)."""
    return render(request, "staffauth/recovery_codes.html", {"codes": codes, "next_url": next_url})


@never_cache
@sensitive_post_parameters("password", "code")
def two_factor(request: HttpRequest) -> HttpResponseBase:
    """The signed-in user's own two-factor page: status, new recovery codes, turning off."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = request.user
    device = actions.device_of(user)
    form = ConfirmForm(request.POST or None)
    error = ""
    if request.method == "POST" and device is not None and form.is_valid():
        wanted = request.POST.get("action")
        if wanted == "disable" and actions.required_for(user):
            error = gettext("Two-factor sign-in is required for your account.")
        elif not user.check_password(form.cleaned_data["password"]):
            error = gettext("The password is not correct.")
        else:
            problem = _check_code(request, user, form.cleaned_data["code"])
            if problem is not None:
                error = problem
            elif wanted == "renew":
                codes = actions.do_renew_recovery_codes(user)
                return _show_recovery_codes(request, codes, reverse("staffauth:two_factor"))
            elif wanted == "disable":
                actions.do_disable_totp(user)
                messages.success(request, gettext("Two-factor sign-in is turned off."))
                return redirect("staffauth:two_factor")
    return render(
        request,
        "staffauth/two_factor.html",
        {
            "device": device,
            "codes_left": actions.recovery_codes_left(user) if device else 0,
            "required": actions.required_for(user),
            "form": form,
            "error": error,
        },
    )


# --- password reset ---------------------------------------------------------------------


@never_cache
def password_reset(request: HttpRequest) -> HttpResponseBase:
    """The same answer whether the address is an account's or not (it only says that a
    mail goes out *if* it is); throttled per client address (refused with a message) and
    per mail address (silently: the answer stays the same)."""
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            passwords.request_reset(form.cleaned_data["email"], client_address(request))
        except passwords.TooManyRequests as exc:
            form.add_error(None, ValidationError(throttle_minutes(exc.seconds)))
        else:
            return redirect("password_reset_done")
    return render(request, "staffauth/password_reset.html", {"form": form})


def throttle_minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return gettext("Too many requests. Try again in %(minutes)d minutes.") % {"minutes": minutes}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "staffauth/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        passwords.after_reset(form.user)
        return response


password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="staffauth/password_reset_done.html"
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="staffauth/password_reset_complete.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view()
