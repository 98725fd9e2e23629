"""/sso/oidc/login/ → the provider → /sso/oidc/callback/, and the desk's sign-out.

A sign-in in progress is one entry in the session, keyed by its ``state``: the nonce,
the PKCE verifier, where to go next and as whom (staff or requester). The callback takes
the entry out before it looks at anything else, so a callback works once; an entry is
good for ``FLOW_SECONDS`` and a session holds a few (two tabs signing in at once)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import logout as auth_logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from madoguchi.accounts import requester
from madoguchi.core.clock import now

from . import actions, config, oidc
from .claims import person_from_claims

log = logging.getLogger(__name__)

FLOWS_KEY = "sso_oidc_flows"
SIGNED_IN_KEY = "sso_oidc"  # set after a sign-in through the provider: its logout hint
FLOW_SECONDS = 600
MAX_FLOWS = 5
KINDS = ("staff", "requester")

# reason → (status, message). Messages are for the person; the reason is shown too, as a
# code to quote to the desk, and logged with the detail.
_STATE = 400
_REFUSED = 403
_PROVIDER = 502


def _messages() -> dict[str, tuple[int, str]]:
    retry = _("Start the sign-in again; if this happens again, tell the desk the code below.")
    unverified = _(
        "The identity provider's answer could not be verified, so you were not signed in."
    )
    return {
        "state": (
            _STATE,
            _(
                "This sign-in has expired or was already used (for example, by going back in the browser)."
            )
            + " "
            + retry,
        ),
        "kind": (_STATE, _("This sign-in link is not valid.")),
        "no_code": (_STATE, _("The identity provider did not complete the sign-in.") + " " + retry),
        "provider_error": (
            _STATE,
            _("The identity provider did not sign you in.") + " " + retry,
        ),
        "unreachable": (
            _PROVIDER,
            _(
                "The identity provider cannot be reached just now. Try again later, or use the email form."
            ),
        ),
        "misconfigured": (
            _PROVIDER,
            _(
                "Sign-in through the identity provider is not set up correctly. Please tell the desk."
            ),
        ),
        "tenant": (
            _REFUSED,
            _(
                "Your account belongs to an organisation this desk does not accept. Sign in with your university account."
            ),
        ),
        "issuer": (
            _REFUSED,
            _("The sign-in came from an identity provider this desk does not know."),
        ),
        "signature": (_STATE, unverified + " " + retry),
        "audience": (_STATE, unverified + " " + retry),
        "expired": (_STATE, unverified + " " + retry),
        "nonce": (_STATE, unverified + " " + retry),
        "claims": (_STATE, unverified + " " + retry),
        "token": (_STATE, unverified + " " + retry),
        "no_email": (
            _REFUSED,
            _(
                "The identity provider did not give the desk a verified mail address, so you cannot be signed in this way. Please use the email form."
            ),
        ),
        "no_staff_tier": (
            _REFUSED,
            _(
                "Your account has no access to the staff console. Ask an administrator to give it a staff tier."
            ),
        ),
        "inactive": (_REFUSED, _("This account is disabled. Ask an administrator.")),
    }


def _error(request: HttpRequest, reason: str, detail: str = "", *, shown: str = "") -> HttpResponse:
    status, message = _messages().get(reason, _messages()["token"])
    log.warning("OIDC sign-in refused (%s): %s", reason, detail)
    response = render(
        request,
        "sso/error.html",
        {"message": message, "reason": reason, "provider_detail": shown[:300]},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _enabled() -> config.OidcConfig:
    current = config.current()
    if not current.enabled:
        raise Http404
    return current


def _redirect_uri() -> str:
    """Built from MADOGUCHI_SITE_URL, never from the Host header."""
    return settings.SITE_URL + reverse("sso:callback")


def _safe_next(request: HttpRequest, value: str, kind: str) -> str:
    default = resolve_url(settings.LOGIN_REDIRECT_URL) if kind == "staff" else "/"
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return value
    return default


@never_cache
@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    current = _enabled()
    kind = request.GET.get("as", "requester")
    if kind not in KINDS:
        return _error(request, "kind", f"as={kind!r}")
    try:
        provider = oidc.discover(current.discovery_url, timeout=current.timeout)
    except oidc.OidcError as exc:
        return _error(request, exc.reason, exc.detail)
    auth = oidc.authorization_request(
        provider,
        client_id=current.client_id,
        redirect_uri=_redirect_uri(),
        scopes=current.scopes,
    )
    at = now().timestamp()
    flows = {
        state: flow
        for state, flow in (request.session.get(FLOWS_KEY) or {}).items()
        if isinstance(flow, dict) and at - flow.get("at", 0) < FLOW_SECONDS
    }
    flows[auth.state] = {
        "nonce": auth.nonce,
        "verifier": auth.code_verifier,
        "next": _safe_next(request, request.GET.get("next", ""), kind),
        "as": kind,
        "at": at,
    }
    request.session[FLOWS_KEY] = dict(list(flows.items())[-MAX_FLOWS:])
    return HttpResponseRedirect(auth.url)


def _take_flow(request: HttpRequest, state: str) -> dict[str, Any] | None:
    flows = request.session.get(FLOWS_KEY) or {}
    flow = flows.pop(state, None) if state else None
    request.session[FLOWS_KEY] = flows
    if not isinstance(flow, dict) or now().timestamp() - flow.get("at", 0) >= FLOW_SECONDS:
        return None
    return flow


@never_cache
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    current = _enabled()
    flow = _take_flow(request, request.GET.get("state", ""))
    if flow is None:  # logged, not audited: anyone can call this URL, as often as they like
        return _error(request, "state", "unknown, spent or expired state")
    if request.GET.get("error"):
        error = request.GET.get("error", "")
        description = request.GET.get("error_description", "")
        return _error(request, "provider_error", error, shown=f"{error}: {description}")
    code = request.GET.get("code", "")
    if not code:
        return _error(request, "no_code", "no code")
    try:
        provider = oidc.discover(current.discovery_url, timeout=current.timeout)
        tokens = oidc.exchange_code(
            provider,
            code=code,
            redirect_uri=_redirect_uri(),
            code_verifier=flow["verifier"],
            client_id=current.client_id,
            client_secret=current.client_secret,
            timeout=current.timeout,
        )
        claims = oidc.verify_id_token(
            tokens["id_token"],
            provider,
            client_id=current.client_id,
            nonce=flow["nonce"],
            tenants=current.tenants,
            clock_skew=current.clock_skew,
            now=now().timestamp(),
            timeout=current.timeout,
        )
    except oidc.OidcError as exc:
        if exc.reason in ("tenant", "issuer", "signature", "audience", "expired", "nonce"):
            actions.record_refusal(exc.reason, provider=current.discovery_url)
        shown = exc.detail.split(": ", 1)[0] if exc.reason == "provider_error" else ""
        return _error(request, exc.reason, exc.detail, shown=shown)

    person = person_from_claims(
        claims,
        email_claims=current.email_claims,
        name_claims=current.name_claims,
        group_claims=current.group_claims,
        category_claims=current.category_claims,
        category_map=current.category_map,
    )
    if flow["as"] == "staff":
        result = actions.do_oidc_staff_sign_in(person, staff_groups=current.staff_groups)
        if not result.allowed:
            reason = "inactive" if not result.user.is_active else "no_staff_tier"
            return _error(request, reason, f"{result.user.username}")
        login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
    else:
        if not person.email:
            return _error(request, "no_email", f"no mail claim for {person.key}")
        requester.sign_in(
            request,
            email=person.email,
            via="oidc",
            name=person.name,
            member_category=person.member_category,
            key=person.key,
        )
    request.session[SIGNED_IN_KEY] = {"id_token_hint": tokens["id_token"]}
    return HttpResponseRedirect(flow["next"])


@never_cache
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends the desk session (staff and requester alike: the session is flushed). After a
    sign-in through the provider, offers the provider's own sign-out when it has one."""
    mark = request.session.get(SIGNED_IN_KEY)
    auth_logout(request)
    current = config.current()
    link = ""
    if isinstance(mark, dict) and current.enabled:
        try:
            provider = oidc.discover(current.discovery_url, timeout=current.timeout)
            link = oidc.end_session_url(
                provider,
                client_id=current.client_id,
                post_logout_redirect_uri=settings.SITE_URL + "/",
                id_token_hint=str(mark.get("id_token_hint", "")),
            )
        except oidc.OidcError as exc:
            log.warning("no provider sign-out link: %s", exc)
    if not link:
        return HttpResponseRedirect(resolve_url(settings.LOGOUT_REDIRECT_URL))
    return render(
        request,
        "sso/signed_out.html",
        {"idp_logout_url": link, "oidc_name": current.name or _("single sign-on")},
    )
