"""The OpenID Connect protocol, as a relying party: discovery, the authorization request
(state, nonce, PKCE S256), the code exchange and the ID token's checks. No Django here.

What is trusted comes from one place: the discovery document at the configured URL. Its
endpoints must be HTTPS (or HTTP on a loopback address, for a provider on this host), so
nothing is ever fetched from anywhere else. The document and the key set are kept in
this process for an hour; a token signed with a key the set does not have makes one
fresh fetch of the set (key rotation), at most once a minute.

The ID token's checks, in this order, each with its own ``OidcError.reason``:

- ``signature``: an asymmetric algorithm the provider announces (never ``none``, never
  HS*: a public key is no shared secret), a key of the provider's set, a valid signature;
- ``issuer``: ``iss`` is the provider's issuer (for Entra ID's multi-tenant endpoints
  the ``{tenantid}`` template filled with the token's own ``tid``);
- ``tenant``: with a tenant list, ``tid`` is one of them (and a template needs a list);
- ``audience``: our client id is in ``aud`` (and is ``azp`` when ``aud`` has several);
- ``expired``: ``exp`` has not passed, ``iat``/``nbf`` are not in the future, within
  the configured skew (at most five minutes);
- ``nonce``: the nonce of this very sign-in (kept in the session, spent at the callback).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
CACHE_SECONDS = 3600
JWKS_REFRESH_MIN_SECONDS = 60
MAX_RESPONSE_BYTES = 1_000_000
TENANT_PLACEHOLDER = "{tenantid}"


class OidcError(Exception):
    """A sign-in that must not go on. ``reason`` is a short slug (shown to the person as a
    code for the desk, logged and audited); ``detail`` is for the log only."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str
    algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]

    @property
    def multi_tenant(self) -> bool:
        return TENANT_PLACEHOLDER in self.issuer


@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


# --- fetching -----------------------------------------------------------------------------


def check_url(url: str) -> str:
    """HTTPS, or HTTP to a loopback host; anything else (file:, another scheme, plain HTTP
    across the network) is refused before any request is made."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return url
    raise OidcError("misconfigured", f"not an https URL: {url!r}")


def _read_json(request: urllib.request.Request, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (check_url)
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE_BYTES)
        try:
            error = json.loads(body)
        except ValueError:
            error = {}
        if isinstance(error, dict) and error.get("error"):
            raise OidcError(
                "provider_error", f"{error.get('error')}: {error.get('error_description', '')}"
            ) from None
        raise OidcError("unreachable", f"{request.full_url}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise OidcError("unreachable", f"{request.full_url}: {exc}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise OidcError("unreachable", f"{request.full_url}: response too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise OidcError("unreachable", f"{request.full_url}: not JSON") from None
    if not isinstance(data, dict):
        raise OidcError("unreachable", f"{request.full_url}: not a JSON object")
    return data


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(check_url(url), headers={"Accept": "application/json"})  # noqa: S310
    return _read_json(request, timeout)


_lock = threading.Lock()
_providers: dict[str, tuple[float, Provider]] = {}
_key_sets: dict[str, tuple[float, float, KeySet]] = {}  # uri → (expires, fetched, keys)


def forget() -> None:
    """Drop the cached documents and keys (tests; a changed configuration restarts)."""
    with _lock:
        _providers.clear()
        _key_sets.clear()


def cached_provider(discovery_url: str) -> Provider | None:
    """What the last discovery found, without fetching (the admin's settings page)."""
    with _lock:
        cached = _providers.get(discovery_url)
    return cached[1] if cached else None


def discover(discovery_url: str, *, timeout: float = 10) -> Provider:
    with _lock:
        cached = _providers.get(discovery_url)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    doc = _get_json(discovery_url, timeout)
    try:
        issuer = str(doc["issuer"])
        provider = Provider(
            issuer=issuer,
            authorization_endpoint=check_url(str(doc["authorization_endpoint"])),
            token_endpoint=check_url(str(doc["token_endpoint"])),
            jwks_uri=check_url(str(doc["jwks_uri"])),
            end_session_endpoint=(
                check_url(str(doc["end_session_endpoint"]))
                if doc.get("end_session_endpoint")
                else ""
            ),
            algorithms=tuple(
                str(a) for a in doc.get("id_token_signing_alg_values_supported") or ["RS256"]
            ),
            token_auth_methods=tuple(
                str(m)
                for m in doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            ),
        )
    except KeyError as exc:
        raise OidcError("misconfigured", f"discovery document without {exc}") from None
    # OIDC Discovery §4.3: the issuer is the discovery URL without the well-known part
    # (Entra ID's multi-tenant documents carry a template instead; see verify_id_token).
    if not provider.multi_tenant:
        base = discovery_url.split("/.well-known/", 1)[0].rstrip("/")
        if base != issuer.rstrip("/"):
            raise OidcError("misconfigured", f"issuer {issuer!r} does not match {discovery_url!r}")
    with _lock:
        _providers[discovery_url] = (time.monotonic() + CACHE_SECONDS, provider)
    return provider


def _key_set(uri: str, *, refresh: bool, timeout: float) -> KeySet:
    now = time.monotonic()
    with _lock:
        cached = _key_sets.get(uri)
    if cached and cached[0] > now and not refresh:
        return cached[2]
    if cached and refresh and now - cached[1] < JWKS_REFRESH_MIN_SECONDS:
        return cached[2]  # fetched a moment ago: an unknown key stays unknown
    doc = _get_json(uri, timeout)
    keys = []
    for entry in doc.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            continue  # a symmetric key in a public set is a mistake; never verify with it
        if entry.get("use") not in (None, "sig"):
            continue
        try:
            keys.append(KeySet.import_key_set({"keys": [entry]}).keys[0])
        except (JoseError, ValueError, TypeError):
            continue  # a key type we cannot use; the others still count
    key_set = KeySet(keys)
    with _lock:
        _key_sets[uri] = (now + CACHE_SECONDS, now, key_set)
    return key_set


# --- the authorization request ----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def code_challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def authorization_request(
    provider: Provider,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    extra: Mapping[str, str] | None = None,
) -> AuthRequest:
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    scope = " ".join(dict.fromkeys(("openid", *scopes)))
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        **(extra or {}),
    }
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    url = provider.authorization_endpoint + separator + urllib.parse.urlencode(params)
    return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def exchange_code(
    provider: Provider,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    client_id: str,
    client_secret: str,
    timeout: float = 10,
) -> dict[str, Any]:
    """The token response (``id_token`` in it, checked to be a string)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "client_id": client_id,
    }
    headers = {"Accept": "application/json"}
    if client_secret:
        if "client_secret_basic" not in provider.token_auth_methods and (
            "client_secret_post" in provider.token_auth_methods
        ):
            form["client_secret"] = client_secret
        else:  # RFC 6749 §2.3.1: both parts form-encoded before Basic
            pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (check_url)
        check_url(provider.token_endpoint),
        data=urllib.parse.urlencode(form).encode("ascii"),
        headers=headers,
        method="POST",
    )
    tokens = _read_json(request, timeout)
    if not isinstance(tokens.get("id_token"), str):
        raise OidcError("token", "no id_token in the token response")
    return tokens


# --- the ID token -----------------------------------------------------------------------------


def _header(token: str) -> dict[str, Any]:
    try:
        first = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    except (ValueError, IndexError):
        raise OidcError("signature", "not a JWS") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise OidcError("signature", "not a compact JWS")
    return header


def _candidates(key_set: KeySet, kid: Any, alg: str) -> list[Key]:
    family = {"R": "RSA", "P": "RSA", "E": "EC"}.get(alg[0], "OKP")
    return [
        key
        for key in key_set.keys
        if key.key_type == family
        and (kid is None or key.kid == kid)
        and key.get("alg") in (None, alg)
    ]


def verify_id_token(
    token: str,
    provider: Provider,
    *,
    client_id: str,
    nonce: str,
    tenants: tuple[str, ...] = (),
    clock_skew: int = 120,
    now: float | None = None,
    timeout: float = 10,
) -> dict[str, Any]:
    """The verified claims of ``token``, or OidcError (see the module's docstring)."""
    header = _header(token)
    alg = header.get("alg")
    allowed = ASYMMETRIC_ALGORITHMS.intersection(provider.algorithms)
    if not isinstance(alg, str) or alg not in allowed:
        raise OidcError("signature", f"algorithm {alg!r} not accepted")
    if "crit" in header:
        raise OidcError("signature", "critical header parameters are not supported")
    kid = header.get("kid")
    keys = _candidates(_key_set(provider.jwks_uri, refresh=False, timeout=timeout), kid, alg)
    if not keys:  # rotated: the provider may have a key we have not seen yet
        keys = _candidates(_key_set(provider.jwks_uri, refresh=True, timeout=timeout), kid, alg)
    if not keys:
        raise OidcError("signature", f"no key {kid!r} for {alg} in the provider's key set")
    payload: bytes | None = None
    for key in keys:
        try:
            payload = jws.deserialize_compact(token, key, algorithms=[alg]).payload
            break
        except (JoseError, ValueError):
            continue
    if payload is None:
        raise OidcError("signature", "bad signature")
    try:
        claims = json.loads(payload)
    except ValueError:
        raise OidcError("claims", "payload is not JSON") from None
    if not isinstance(claims, dict):
        raise OidcError("claims", "payload is not an object")

    iss, tid = claims.get("iss"), claims.get("tid")
    tid = tid.lower() if isinstance(tid, str) else ""
    expected = provider.issuer
    if provider.multi_tenant:
        if not tenants:
            raise OidcError("tenant", "a multi-tenant issuer needs MADOGUCHI_OIDC_TENANTS")
        expected = provider.issuer.replace(TENANT_PLACEHOLDER, tid or "(none)")
    if not isinstance(iss, str) or iss != expected:
        raise OidcError("issuer", f"iss {iss!r}, expected {expected!r}")
    if tenants and tid not in tenants:
        raise OidcError("tenant", f"tenant {tid or '(none)'} is not allowed")

    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise OidcError("audience", f"aud {aud!r}")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise OidcError("audience", f"azp {claims.get('azp')!r} with several audiences")

    at = time.time() if now is None else now
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise OidcError("claims", "no exp")
    if at > exp + clock_skew:
        raise OidcError("expired", f"expired {int(at - exp)} s ago")
    if not isinstance(iat, int | float) or iat > at + clock_skew:
        raise OidcError("expired", "iat missing or in the future")
    if isinstance(nbf, int | float) and nbf > at + clock_skew:
        raise OidcError("expired", "not valid yet")

    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise OidcError("nonce", "nonce does not match this sign-in")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("claims", "no sub")
    return claims


def end_session_url(
    provider: Provider, *, client_id: str, post_logout_redirect_uri: str, id_token_hint: str = ""
) -> str:
    """The provider's RP-initiated logout link, or "" when discovery names none."""
    if not provider.end_session_endpoint:
        return ""
    params = {"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    separator = "&" if "?" in provider.end_session_endpoint else "?"
    return provider.end_session_endpoint + separator + urllib.parse.urlencode(params)
