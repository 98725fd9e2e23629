"""OpenID Connect sign-in against real providers on this host.

Two providers run in the test process: ``oidc-provider-mock`` (an Authlib provider: the
happy paths, the claims, replay of a real code) and ``Hostile``, a small provider of our
own whose token endpoint hands out whatever ID token a test crafts with its own keys
(bad signature, wrong audience, expired, replayed nonce, other tenant, unknown issuer,
``alg: none``, HS256 with the public key, key rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from madoguchi.accounts import requester
from madoguchi.privacy.models import AuditEvent
from madoguchi.sso import oidc
from madoguchi.sso.models import ExternalIdentity

pytestmark = [
    pytest.mark.django_db,
    # oidc-provider-mock calls Authlib APIs that Authlib has deprecated (in its own thread).
    pytest.mark.filterwarnings("ignore::DeprecationWarning:(authlib|oidc_provider_mock)"),
]

CLIENT_ID = "madoguchi-test"


@pytest.fixture(autouse=True)
def _fresh_caches():
    oidc.forget()
    yield
    oidc.forget()


@pytest.fixture(autouse=True)
def _english(english):
    """English texts are asserted (the shared ``english`` fixture)."""


def configure(settings, discovery_url: str, **extra: Any) -> None:
    settings.OIDC_DISCOVERY_URL = discovery_url
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = "s3cret"
    settings.OIDC_NAME = "University account"
    settings.OIDC_TENANTS = ()
    settings.OIDC_STAFF_GROUPS = ""
    for name, value in extra.items():
        setattr(settings, f"OIDC_{name}", value)


# --- oidc-provider-mock ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mock_idp() -> Iterator[str]:
    try:
        import oidc_provider_mock
    except ImportError as exc:
        if os.environ.get("CI") == "true":
            raise
        print(f"SKIP: oidc-provider-mock is not installed ({exc}); pip install -e '.[test]'")
        pytest.skip(f"oidc-provider-mock is not installed ({exc})")
    with oidc_provider_mock.run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _location(url: str, data: dict[str, str] | None = None) -> str:
    """The Location of the redirect ``url`` answers (a POST with ``data``)."""
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        response = opener.open(url, data=body, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code in (302, 303), exc.read()[:500]
        return exc.headers["Location"]
    raise AssertionError(f"no redirect: {response.status}")


def set_user(base: str, sub: str, claims: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{base}/users/{urllib.parse.quote(sub)}",
        data=json.dumps(claims).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


def start(client, kind: str, next_url: str = "") -> str:
    query = urllib.parse.urlencode({"as": kind, **({"next": next_url} if next_url else {})})
    response = client.get(f"/sso/oidc/login/?{query}")
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def callback_path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/sso/oidc/callback/", url
    return f"{parts.path}?{parts.query}"


def mock_sign_in(client, base: str, sub: str, kind: str, next_url: str = ""):
    """Through the provider's own form, as a browser would; returns (callback, response)."""
    authorize = start(client, kind, next_url)
    assert authorize.startswith(f"{base}/oauth2/authorize?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = callback_path(_location(authorize, {"sub": sub}))
    return back, client.get(back)


def test_staff_sign_in_creates_the_user_with_the_tier_from_the_group(client, settings, mock_idp):
    configure(
        settings,
        f"{mock_idp}/.well-known/openid-configuration",
        STAFF_GROUPS="desk-faculty=faculty, desk-students=student",
    )
    set_user(
        mock_idp,
        "hanako",
        {"email": "hanako@example.ac.jp", "name": "山田 花子", "groups": ["x", "desk-faculty"]},
    )
    _, response = mock_sign_in(client, mock_idp, "hanako", "staff", "/console/?view=all")
    assert response.status_code == 302 and response["Location"] == "/console/?view=all"
    identity = ExternalIdentity.objects.get(key="hanako")
    user = identity.user
    assert (user.tier, user.email, user.display_name) == (
        "faculty",
        "hanako@example.ac.jp",
        "山田 花子",
    )
    assert identity.issuer == mock_idp and not user.has_usable_password()
    assert client.get("/console/").status_code == 200
    assert AuditEvent.objects.filter(verb="auth.sso_signed_in", actor=user).exists()

    # The mapping is the source of the tier: a group taken away lowers it at the next sign-in.
    client.logout()
    set_user(mock_idp, "hanako", {"email": "hanako@example.ac.jp", "groups": ["desk-students"]})
    mock_sign_in(client, mock_idp, "hanako", "staff")
    user.refresh_from_db()
    assert user.tier == "student"


def test_without_a_mapped_group_there_is_no_console_and_an_admins_tier_stays(
    client, settings, mock_idp
):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    set_user(mock_idp, "jiro", {"email": "jiro@example.ac.jp", "groups": ["desk-faculty"]})
    _, response = mock_sign_in(client, mock_idp, "jiro", "staff")
    assert response.status_code == 403
    assert "no_staff_tier" in response.content.decode()
    user = ExternalIdentity.objects.get(key="jiro").user
    assert user.tier == ""
    assert client.get("/console/").status_code == 302  # not signed in
    # An administrator gives the account a tier; without a mapping the provider keeps it.
    user.tier = "student"
    user.save()
    _, response = mock_sign_in(client, mock_idp, "jiro", "staff")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.tier == "student"
    assert client.get("/console/").status_code == 200


def test_a_changed_mail_address_is_the_same_person(client, settings, mock_idp):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration", STAFF_GROUPS="g=student")
    set_user(mock_idp, "saburo", {"email": "saburo@old.example.ac.jp", "groups": ["g"]})
    mock_sign_in(client, mock_idp, "saburo", "staff")
    client.logout()
    set_user(mock_idp, "saburo", {"email": "saburo@new.example.ac.jp", "groups": ["g"]})
    _, response = mock_sign_in(client, mock_idp, "saburo", "staff")
    assert response.status_code == 302
    identity = ExternalIdentity.objects.get(key="saburo")
    assert ExternalIdentity.objects.count() == 1
    assert identity.email == identity.user.email == "saburo@new.example.ac.jp"
    assert identity.user.username == "saburo@old.example.ac.jp"  # the account is the same


def test_requester_sign_in_sets_the_requester_identity(client, settings, mock_idp):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    set_user(
        mock_idp,
        "gakusei",
        {
            "email": "Gakusei@Example.ac.jp",
            "name": "学生 一郎",
            "eduperson_affiliation": ["member", "student"],
        },
    )
    _, response = mock_sign_in(client, mock_idp, "gakusei", "requester", "/faq/")
    assert response.status_code == 302 and response["Location"] == "/faq/"
    identity = requester.current(client.session)
    assert identity is not None
    assert (
        identity.email,
        identity.via,
        identity.name,
        identity.member_category,
        identity.key,
    ) == (
        "gakusei@example.ac.jp",
        "oidc",
        "学生 一郎",
        "student_current",
        "gakusei",
    )
    assert not ExternalIdentity.objects.exists()  # requesters get no account


def test_a_replayed_callback_is_refused(client, settings, mock_idp):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    set_user(mock_idp, "r", {"email": "r@example.ac.jp"})
    back, response = mock_sign_in(client, mock_idp, "r", "requester")
    assert response.status_code == 302
    again = client.get(back)
    assert again.status_code == 400
    assert "state" in again.content.decode()
    # In another browser (a session without this state) the code is just as dead.
    from django.test import Client

    assert Client().get(back).status_code == 400


def test_a_code_spent_at_the_provider_is_refused(client, settings, mock_idp):
    """The state is fresh but the code was already exchanged: the provider says no."""
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    set_user(mock_idp, "c", {"email": "c@example.ac.jp"})
    back, _ = mock_sign_in(client, mock_idp, "c", "requester")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(start(client, "requester")).query)["state"]
    response = client.get(f"/sso/oidc/callback/?state={state[0]}&code={code}")
    assert response.status_code == 400
    assert "provider_error" in response.content.decode()


def test_bad_state_error_and_unsafe_next(client, settings, mock_idp):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    response = client.get("/sso/oidc/callback/?state=forged&code=x")
    assert response.status_code == 400
    page = response.content.decode()
    assert "expired or was already used" in page and "state" in page
    # The provider says no (the person cancelled): the page says so, with its words.
    authorize = start(client, "requester")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)["state"][0]
    response = client.get(
        f"/sso/oidc/callback/?state={state}&error=access_denied&error_description=AADSTS50105"
    )
    assert response.status_code == 400 and "AADSTS50105" in response.content.decode()
    # next must be a local path
    set_user(mock_idp, "n", {"email": "n@example.ac.jp"})
    for unsafe in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
    ):
        _, response = mock_sign_in(client, mock_idp, "n", "requester", unsafe)
        assert response["Location"] == "/", unsafe
    assert client.get("/sso/oidc/login/?as=root").status_code == 400


def test_sign_out_ends_the_session_and_offers_the_providers(client, settings, mock_idp):
    configure(settings, f"{mock_idp}/.well-known/openid-configuration", STAFF_GROUPS="g=student")
    set_user(mock_idp, "o", {"email": "o@example.ac.jp", "groups": ["g"]})
    mock_sign_in(client, mock_idp, "o", "staff")
    assert client.get("/console/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{mock_idp}/oauth2/end_session?" in page and "post_logout_redirect_uri" in page
    assert client.get("/console/").status_code == 302
    # A local sign-in's sign-out is as before: straight to the portal.
    from tests.integration.conftest import make_user

    client.force_login(make_user("local", "student"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_login_page_offers_the_button_only_when_configured(client, settings, mock_idp):
    configure(settings, "")
    settings.OIDC_CLIENT_ID = ""
    assert "University account" not in client.get("/accounts/login/").content.decode()
    assert client.get("/sso/oidc/login/?as=staff").status_code == 404
    configure(settings, f"{mock_idp}/.well-known/openid-configuration")
    page = client.get("/accounts/login/?next=/console/").content.decode()
    assert "/sso/oidc/login/?as=staff&amp;next=/console/" in page
    assert "University account" in page


# --- a provider that says what the test wants --------------------------------------------


class Hostile:
    """Discovery, a JWKS and a token endpoint on 127.0.0.1; ``token`` makes the ID token
    the token endpoint returns (given the form it was posted)."""

    def __init__(self, *, issuer_path: str = "") -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.published: list[Any] = [self.key]
        self.token: Callable[[dict[str, str]], str] = lambda form: ""
        self.token_error: dict[str, str] | None = None
        self.jwks_fetches = 0
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, hostile.discovery())
                elif self.path == "/jwks":
                    hostile.jwks_fetches += 1
                    self._json(200, {"keys": [k.as_dict(private=False) for k in hostile.published]})
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if hostile.token_error:
                    self._json(400, hostile.token_error)
                else:
                    self._json(
                        200,
                        {
                            "access_token": "a",
                            "token_type": "Bearer",
                            "id_token": hostile.token(form),
                        },
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.base + issuer_path
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "end_session_endpoint": f"{self.base}/logout",
            # HS256 announced too: the desk must refuse it all the same.
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256", "none"],
        }

    def claims(self, nonce: str, **overrides: Any) -> dict[str, Any]:
        at = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "subject-1",
            "aud": CLIENT_ID,
            "exp": at + 300,
            "iat": at,
            "nonce": nonce,
            "email": "hostile@example.ac.jp",
            "name": "Hostile Test",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(
        self, claims: dict[str, Any], key: Any = None, alg: str = "RS256", **header: Any
    ) -> str:
        key = key or self.key
        head = {"alg": alg, "kid": key.kid, **header}
        return jws.serialize_compact(head, json.dumps(claims).encode(), key, algorithms=[alg])


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    provider = Hostile()
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def begin(client) -> tuple[str, str]:
    """(state, nonce) of a new sign-in."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(start(client, "requester")).query)
    return query["state"][0], query["nonce"][0]


def finish(client, hostile: Hostile, make: Callable[[str], str]):
    state, nonce = begin(client)
    hostile.token = lambda form: make(nonce)
    return client.get(f"/sso/oidc/callback/?state={state}&code=c")


def refused(response, reason: str) -> None:
    assert response.status_code in (400, 403), response.status_code
    assert f"Code for the desk: {reason}" in response.content.decode(), response.content.decode()


def test_hostile_provider_good_token_signs_in(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    response = finish(client, hostile, lambda nonce: hostile.sign(hostile.claims(nonce)))
    assert response.status_code == 302
    assert requester.current(client.session).email == "hostile@example.ac.jp"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "wrong_audience",
        "several_audiences_without_azp",
        "expired",
        "issued_in_the_future",
        "unknown_issuer",
        "no_nonce",
        "alg_none",
        "hs256_with_the_public_key",
        "unknown_key",
        "es256_with_a_key_not_published",
    ],
)
def test_hostile_tokens_are_refused(client, settings, hostile, case):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, not the key

    def make(nonce: str) -> str:
        c = hostile.claims(nonce)
        match case:
            case "bad_signature":
                return hostile.sign(c, key=other)
            case "wrong_audience":
                return hostile.sign({**c, "aud": "someone-else"})
            case "several_audiences_without_azp":
                return hostile.sign({**c, "aud": [CLIENT_ID, "someone-else"]})
            case "expired":
                return hostile.sign(
                    {**c, "exp": int(time.time()) - 200, "iat": int(time.time()) - 900}
                )
            case "issued_in_the_future":
                return hostile.sign({**c, "iat": int(time.time()) + 3600})
            case "unknown_issuer":
                return hostile.sign({**c, "iss": "https://login.evil.example/"})
            case "no_nonce":
                return hostile.sign({**c, "nonce": None})
            case "alg_none":
                return (
                    f"{_b64(json.dumps({'alg': 'none'}).encode())}.{_b64(json.dumps(c).encode())}."
                )
            case "hs256_with_the_public_key":
                # The classic confusion: the public key (known to all) as an HMAC secret.
                pem = hostile.key.as_pem(private=False)
                head = _b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
                signing_input = f"{head}.{_b64(json.dumps(c).encode())}"
                mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
                return f"{signing_input}.{_b64(mac)}"
            case "unknown_key":
                return hostile.sign(c, key=RSAKey.generate_key(2048, parameters={"kid": "k9"}))
            case "es256_with_a_key_not_published":
                return hostile.sign(
                    c, key=ECKey.generate_key("P-256", parameters={"kid": "k1"}), alg="ES256"
                )
        raise AssertionError(case)

    expected = {
        "wrong_audience": "audience",
        "several_audiences_without_azp": "audience",
        "expired": "expired",
        "issued_in_the_future": "expired",
        "unknown_issuer": "issuer",
        "no_nonce": "nonce",
    }.get(case, "signature")
    response = finish(client, hostile, make)
    refused(response, expected)
    assert requester.current(response.wsgi_request) is None
    assert AuditEvent.objects.filter(verb="auth.sso_refused", data__reason=expected).exists()


def test_a_replayed_id_token_fails_on_its_nonce(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    first: list[str] = []

    def once(nonce: str) -> str:
        first.append(hostile.sign(hostile.claims(nonce)))
        return first[0]

    assert finish(client, hostile, once).status_code == 302
    refused(finish(client, hostile, lambda nonce: first[0]), "nonce")


def test_expiry_allows_the_configured_skew_only(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration", CLOCK_SKEW_SECONDS=120)
    late = lambda nonce: hostile.sign(hostile.claims(nonce, exp=int(time.time()) - 60))  # noqa: E731
    assert finish(client, hostile, late).status_code == 302
    later = lambda nonce: hostile.sign(hostile.claims(nonce, exp=int(time.time()) - 180))  # noqa: E731
    refused(finish(client, hostile, later), "expired")


def test_keys_rotate_through_one_fresh_fetch(client, settings, hostile, monkeypatch):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    assert finish(client, hostile, lambda n: hostile.sign(hostile.claims(n))).status_code == 302
    assert hostile.jwks_fetches == 1
    new = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    hostile.published = [new]
    # Within a minute of the last fetch an unknown key stays unknown (no fetch per attempt)…
    refused(
        finish(client, hostile, lambda n: hostile.sign(hostile.claims(n), key=new)), "signature"
    )
    assert hostile.jwks_fetches == 1
    # …after it, the set is fetched once more and the new key works.
    monkeypatch.setattr(oidc, "JWKS_REFRESH_MIN_SECONDS", 0)
    assert (
        finish(client, hostile, lambda n: hostile.sign(hostile.claims(n), key=new)).status_code
        == 302
    )
    assert hostile.jwks_fetches == 2
    # The cached new set serves the next sign-in without a fetch.
    assert (
        finish(client, hostile, lambda n: hostile.sign(hostile.claims(n), key=new)).status_code
        == 302
    )
    assert hostile.jwks_fetches == 2


def test_token_endpoint_errors_and_an_absent_provider_give_a_page(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    hostile.token_error = {"error": "invalid_grant", "error_description": "code already used"}
    response = finish(client, hostile, lambda n: "")
    assert response.status_code == 400 and "invalid_grant" in response.content.decode()
    hostile.token_error = None
    response = finish(client, hostile, lambda n: "not-a-jwt")
    refused(response, "signature")
    # A provider that is not there: a page, not a 500.
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as gone:
        port = gone.server_port
    configure(
        settings,
        f"http://127.0.0.1:{port}/.well-known/openid-configuration",
        HTTP_TIMEOUT_SECONDS=2,
    )
    response = client.get("/sso/oidc/login/?as=requester")
    assert response.status_code == 502 and "unreachable" in response.content.decode()
    # Not HTTPS and not this host: refused before any request.
    configure(settings, "http://idp.example.ac.jp/.well-known/openid-configuration")
    assert client.get("/sso/oidc/login/?as=requester").status_code == 502


def test_no_verified_mail_no_requester_sign_in(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    response = finish(
        client, hostile, lambda n: hostile.sign(hostile.claims(n, email_verified=False))
    )
    refused(response, "no_email")


# --- Entra ID: a multi-tenant issuer and the tenant list ------------------------------------

TENANT_A = "11111111-1111-1111-1111-111111111111"
TENANT_B = "22222222-2222-2222-2222-222222222222"


@pytest.fixture
def entra() -> Iterator[Hostile]:
    provider = Hostile(issuer_path="/{tenantid}/v2.0")
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def entra_claims(provider: Hostile, nonce: str, tid: str, **extra: Any) -> dict[str, Any]:
    return provider.claims(
        nonce,
        iss=f"{provider.base}/{tid}/v2.0",
        tid=tid,
        oid="aaaaaaaa-0000-0000-0000-00000000000a",
        email=None,
        preferred_username="taro@univ.example.ac.jp",
        **extra,
    )


def test_entra_tenants(client, settings, entra):
    configure(
        settings,
        f"{entra.base}/.well-known/openid-configuration",
        TENANTS=(TENANT_A,),
        STAFF_GROUPS="f00d0000-0000-0000-0000-000000000001=faculty",
    )
    # Another tenant, with a token its own issuer rightly signed for: refused.
    refused(finish(client, entra, lambda n: entra.sign(entra_claims(entra, n, TENANT_B))), "tenant")
    # The issuer must be the template filled with the token's own tenant.
    refused(
        finish(
            client,
            entra,
            lambda n: entra.sign(
                {**entra_claims(entra, n, TENANT_A), "iss": f"{entra.base}/{TENANT_B}/v2.0"}
            ),
        ),
        "issuer",
    )
    # Our tenant: the stable key is tid/oid, the mail comes from preferred_username.
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(start(client, "staff")).query)
    state, nonce = query["state"][0], query["nonce"][0]
    entra.token = lambda form: entra.sign(
        entra_claims(entra, nonce, TENANT_A, groups=["f00d0000-0000-0000-0000-000000000001"])
    )
    response = client.get(f"/sso/oidc/callback/?state={state}&code=c")
    assert response.status_code == 302, response.content.decode()
    identity = ExternalIdentity.objects.get()
    assert identity.key == f"{TENANT_A}/aaaaaaaa-0000-0000-0000-00000000000a"
    assert identity.issuer == f"{entra.base}/{TENANT_A}/v2.0"
    assert (identity.user.email, identity.user.tier) == ("taro@univ.example.ac.jp", "faculty")


def test_a_multi_tenant_issuer_without_a_tenant_list_accepts_nobody(client, settings, entra):
    configure(settings, f"{entra.base}/.well-known/openid-configuration")
    refused(finish(client, entra, lambda n: entra.sign(entra_claims(entra, n, TENANT_A))), "tenant")


def test_the_pkce_verifier_matches_the_challenge(client, settings, hostile):
    configure(settings, f"{hostile.base}/.well-known/openid-configuration")
    authorize = start(client, "requester")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    seen: dict[str, str] = {}

    def token(form: dict[str, str]) -> str:
        seen.update(form)
        return hostile.sign(hostile.claims(query["nonce"][0]))

    hostile.token = token
    assert client.get(f"/sso/oidc/callback/?state={query['state'][0]}&code=c").status_code == 302
    assert oidc.code_challenge(seen["code_verifier"]) == query["code_challenge"][0]
    assert seen["grant_type"] == "authorization_code" and seen["code"] == "c"
    assert (
        seen["redirect_uri"]
        == query["redirect_uri"][0]
        == f"{settings.SITE_URL}/sso/oidc/callback/"
    )


def test_admin_sees_the_effective_settings(client, settings, hostile):
    from tests.integration.conftest import make_user

    configure(
        settings, f"{hostile.base}/.well-known/openid-configuration", STAFF_GROUPS="g=faculty"
    )
    client.force_login(make_user("root", superuser=True))
    page = client.get("/admin/sso/externalidentity/settings/").content.decode()
    assert "MADOGUCHI_OIDC_STAFF_GROUPS" in page and "g → faculty" in page
    assert "s3cret" not in page
