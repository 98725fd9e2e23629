"""/sso/oidc/login/ → the provider → /sso/oidc/callback/; /sso/saml/login/ → the IdP →
/sso/saml/acs/ (below, with the SP metadata); and the desk's sign-out.

A sign-in in progress is one entry in the session, keyed by its ``state``: the nonce,
the PKCE verifier, where to go next and as whom (staff or requester). The callback takes
the entry out before it looks at anything else, so a callback works once; an entry is
good for ``FLOW_SECONDS`` and a session holds a few (two tabs signing in at once)."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import logout as auth_logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from madoguchi.accounts import requester
from madoguchi.core.clock import now
from madoguchi.web.redirects import local_path

from . import actions, config, oidc
from .claims import Person, person_from_claims, person_from_saml, saml_attributes

if TYPE_CHECKING:
    from . import saml

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
        "unsigned": (_STATE, unverified + " " + retry),
        "recipient": (_STATE, unverified + " " + retry),
        "not_yet_valid": (
            _STATE,
            _(
                "The identity provider's answer is not valid yet: the clocks of the desk and the identity provider differ. Please tell the desk."
            ),
        ),
        "in_response_to": (
            _STATE,
            _("The identity provider's answer does not belong to this sign-in.") + " " + retry,
        ),
        "unsolicited": (
            _STATE,
            _(
                "This sign-in did not start at the desk. Open the desk's sign-in page and sign in from there."
            ),
        ),
        "replay": (
            _STATE,
            _("This answer of the identity provider was already used.") + " " + retry,
        ),
        "no_key": (
            _REFUSED,
            _(
                "The identity provider did not tell the desk who you are (no stable identifier was released). Please tell the desk."
            ),
        ),
    }


def _error(request: HttpRequest, reason: str, detail: str = "", *, shown: str = "") -> HttpResponse:
    status, message = _messages().get(reason, _messages()["token"])
    log.warning("SSO sign-in refused (%s): %s", reason, detail)
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


def _safe_next(value: str, kind: str) -> str:
    default = resolve_url(settings.LOGIN_REDIRECT_URL) if kind == "staff" else "/"
    return local_path(value, default)


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
        "next": _safe_next(request.GET.get("next", ""), kind),
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
        common_id_claims=current.common_id_claims,
    )
    refused = _sign_in(request, person, flow["as"], current.staff_groups, protocol="oidc")
    if refused is not None:
        return refused
    request.session[SIGNED_IN_KEY] = {"id_token_hint": tokens["id_token"]}
    return HttpResponseRedirect(flow["next"])


def _sign_in(
    request: HttpRequest, person: Person, kind: str, staff_groups: dict[str, str], *, protocol: str
) -> HttpResponse | None:
    """Sign ``person`` in as staff (an account, Django's login) or as a requester (the
    session record); None when signed in, else the refusal page."""
    if kind == "staff":
        result = actions.do_staff_sign_in(person, staff_groups=staff_groups, protocol=protocol)
        if not result.allowed:
            reason = "inactive" if not result.user.is_active else "no_staff_tier"
            return _error(request, reason, f"{result.user.username}")
        login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
        return None
    if not person.email:
        return _error(request, "no_email", f"no mail from {protocol} for {person.key}")
    requester.sign_in(
        request,
        email=person.email,
        via=protocol,
        name=person.name,
        member_category=person.member_category,
        key=person.key,
        common_id=person.common_id,
    )
    return None


@never_cache
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Ends the desk session (staff and requester alike: the session is flushed). After a
    sign-in through the provider, offers the provider's own sign-out when it has one."""
    mark = request.session.get(SIGNED_IN_KEY)
    saml_mark = request.session.get(SAML_SIGNED_IN_KEY)
    auth_logout(request)
    current = config.current()
    link = ""
    name = current.name
    if isinstance(saml_mark, dict):
        link, name = _saml_logout_link()
    elif isinstance(mark, dict) and current.enabled:
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
        {"idp_logout_url": link, "oidc_name": name or _("single sign-on")},
    )


def _saml_logout_link() -> tuple[str, str]:
    saml_config = config.saml()
    if not saml_config.enabled:
        return "", ""
    from . import saml

    try:
        return saml.idp_logout_url(_service_provider(saml_config), now=now().timestamp()), (
            saml_config.name
        )
    except saml.SamlError as exc:
        log.warning("no IdP sign-out link: %s", exc)
        return "", saml_config.name


# --- SAML 2.0 ------------------------------------------------------------------------------
# /sso/saml/login/ → the IdP (HTTP-Redirect) → a form POST to /sso/saml/acs/. A sign-in in
# progress is a session entry keyed by its RelayState (random, like OIDC's state): the
# AuthnRequest's ID, next, as whom, when. The ACS takes it out first, so a response is
# looked at once per sign-in; an assertion's ID is remembered until it expires (replay).

SAML_FLOWS_KEY = "sso_saml_flows"
SAML_SIGNED_IN_KEY = "sso_saml"  # the IdP, NameID and session index (for a later SLO)
RESENT_FIELD = "madoguchi_resent"


def _service_provider(current: config.SamlConfig) -> saml.ServiceProvider:
    # pysaml2 costs a process about 45 MB and 0.7 s to import: only the first SAML
    # request of a process pays, not every desk without SAML.
    from . import saml

    return saml.ServiceProvider(
        entity_id=current.entity_id,
        acs_url=current.acs_url,
        key_file=current.sp_key_file,
        cert_file=current.sp_cert_file,
        idp_entity_id=current.idp_entity_id,
        metadata_url=current.metadata_url,
        metadata_file=current.metadata_file,
        metadata_cert_file=current.metadata_cert_file,
        clock_skew=current.clock_skew,
        allow_unsolicited=current.allow_unsolicited,
        timeout=current.timeout,
    )


def _saml_enabled() -> tuple[config.SamlConfig, saml.ServiceProvider]:
    current = config.saml()
    if not current.enabled:
        raise Http404
    return current, _service_provider(current)


@never_cache
@require_GET
def saml_metadata(request: HttpRequest) -> HttpResponse:
    """The desk's SP metadata, signed with its key: what the federation or the IdP's
    administrator registers. Served as soon as the key pair is set (before the IdP is)."""
    from . import saml

    current = config.saml()
    if not (current.sp_key_file and current.sp_cert_file):
        raise Http404
    try:
        text = saml.sp_metadata(_service_provider(current))
    except saml.SamlError as exc:
        return _error(request, exc.reason, exc.detail)
    return HttpResponse(text, content_type="application/samlmetadata+xml; charset=utf-8")


@never_cache
@require_GET
def saml_login(request: HttpRequest) -> HttpResponse:
    from . import saml

    current, sp = _saml_enabled()
    kind = request.GET.get("as", "requester")
    if kind not in KINDS:
        return _error(request, "kind", f"as={kind!r}")
    relay_state = secrets.token_urlsafe(24)
    at = now().timestamp()
    try:
        request_id, url = saml.authn_request(sp, relay_state, now=at)
    except saml.SamlError as exc:
        return _error(request, exc.reason, exc.detail)
    flows = {
        key: flow
        for key, flow in (request.session.get(SAML_FLOWS_KEY) or {}).items()
        if isinstance(flow, dict) and at - flow.get("at", 0) < FLOW_SECONDS
    }
    flows[relay_state] = {
        "id": request_id,
        "next": _safe_next(request.GET.get("next", ""), kind),
        "as": kind,
        "at": at,
    }
    request.session[SAML_FLOWS_KEY] = dict(list(flows.items())[-MAX_FLOWS:])
    return HttpResponseRedirect(url)


def _take_saml_flow(request: HttpRequest, relay_state: str) -> dict[str, Any] | None:
    flows = request.session.get(SAML_FLOWS_KEY) or {}
    flow = flows.pop(relay_state, None) if relay_state else None
    request.session[SAML_FLOWS_KEY] = flows
    if not isinstance(flow, dict) or now().timestamp() - flow.get("at", 0) >= FLOW_SECONDS:
        return None
    return flow


@csrf_exempt  # the IdP's form posts here; the RelayState's session entry and the signed
@never_cache  # assertion answering that entry's request are what make the post ours
@require_POST
def saml_acs(request: HttpRequest) -> HttpResponse:
    from . import saml

    current, sp = _saml_enabled()
    response = request.POST.get("SAMLResponse", "")
    relay_state = request.POST.get("RelayState", "")
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and not request.POST.get(RESENT_FIELD):
        # A cross-site POST: the browser kept the SameSite=Lax session cookie back. Post
        # the same fields again from the desk's own page, which the cookie goes with.
        return render(
            request,
            "sso/saml_post.html",
            {"fields": {"SAMLResponse": response, "RelayState": relay_state}},
        )
    if not response:
        return _error(request, "no_code", "no SAMLResponse")
    flow = _take_saml_flow(request, relay_state)
    if flow is None and (relay_state or not current.allow_unsolicited):
        # logged, not audited: anyone can post here
        return _error(
            request,
            "state" if relay_state else "unsolicited",
            "unknown, spent or expired RelayState" if relay_state else "no RelayState",
        )
    try:
        assertion = saml.verify_response(
            sp,
            response,
            request_id=flow["id"] if flow else None,
            now=now().timestamp(),
        )
    except saml.SamlError as exc:
        if exc.reason not in ("misconfigured", "unreachable", "provider_error"):
            actions.record_refusal(exc.reason, provider=sp.idp_entity_id)
        shown = exc.detail if exc.reason == "provider_error" else ""
        return _error(request, exc.reason, exc.detail, shown=shown)
    if not actions.remember_assertion(
        assertion.issuer, assertion.assertion_id, until=assertion.not_on_or_after
    ):
        actions.record_refusal("replay", provider=sp.idp_entity_id)
        return _error(request, "replay", f"assertion {assertion.assertion_id} seen before")
    person = person_from_saml(
        assertion.issuer,
        saml_attributes(assertion.attributes),
        key_attribute=current.key_attribute,
        category_map=current.category_map,
        common_id_attribute=current.common_id_attribute,
    )
    if not person.key:
        return _error(request, "no_key", f"no {current.key_attribute} in the assertion")
    # Unsolicited responses (when allowed) sign requesters in only: a staff sign-in
    # always starts at the desk.
    kind = flow["as"] if flow else "requester"
    refused = _sign_in(request, person, kind, current.staff_groups, protocol="saml")
    if refused is not None:
        return refused
    request.session[SAML_SIGNED_IN_KEY] = {
        "idp": assertion.issuer,
        "name_id": assertion.name_id,
        "session_index": assertion.session_index,
    }
    return HttpResponseRedirect(flow["next"] if flow else "/")
