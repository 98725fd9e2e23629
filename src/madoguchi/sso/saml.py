"""SAML 2.0 Web Browser SSO with the desk as the service provider: pysaml2 underneath, no
Django here (docs/design.md note 71).

pysaml2 (with Debian's ``xmlsec1``) does the XML: the AuthnRequest for the HTTP-Redirect
binding, the signature checks of the response and its assertion, decryption, the SP
metadata. It is lenient where the desk must not be, so ``verify_response`` adds checks of
its own on the assertion pysaml2 accepted, and the same checks explain a refusal:

- the metadata: pysaml2 loads unsigned metadata even when given a certificate, so the
  desk fetches and verifies it itself (``load_metadata``: signed, by the configured
  certificate, on the document's root) and hands pysaml2 the verified text;
- the issuer: only the configured IdP (federation metadata names hundreds), checked on
  the response and the assertion before any signature is looked at;
- the assertion must be signed (a signed response around an unsigned assertion is
  refused: ``unsigned``); the audience must be present and be our entity id (pysaml2
  accepts an assertion without an audience restriction); the bearer confirmation's
  Recipient must be our ACS (pysaml2 also accepts the entity id) and a Destination,
  when present, too; InResponseTo must be the request this sign-in sent, on the response
  and the confirmation, unless unsolicited responses are allowed and there is none;
  NotBefore/NotOnOrAfter within the skew (at most 180 s).

Each refusal is a ``SamlError`` with a reason slug (the same slugs as OIDC's where they
mean the same) and a detail for the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, samlp, xmldsig
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError
from saml2.saml import SCM_BEARER, NameID
from saml2.sigver import SignatureError, get_xmlsec_binary, security_context

METADATA_SECONDS = 3600  # fetched metadata is used this long, then fetched again
METADATA_STALE_SECONDS = 86400  # and, while the IdP cannot be reached, at most this long
MAX_METADATA_BYTES = 64 * 1024 * 1024  # GakuNin's federation metadata is ~10 MB
MAX_RESPONSE_BYTES = 1024 * 1024

NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
SIGNATURE_ALGORITHMS = {
    xmldsig.SIG_RSA_SHA256,
    xmldsig.SIG_RSA_SHA384,
    xmldsig.SIG_RSA_SHA512,
    xmldsig.SIG_ECDSA_SHA256,
    xmldsig.SIG_ECDSA_SHA384,
    xmldsig.SIG_ECDSA_SHA512,
}
DIGEST_ALGORITHMS = {xmldsig.DIGEST_SHA256, xmldsig.DIGEST_SHA384, xmldsig.DIGEST_SHA512}


class SamlError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ServiceProvider:
    """What pysaml2 needs to know of the desk and its IdP (from ``config.SamlConfig``)."""

    entity_id: str
    acs_url: str
    key_file: str
    cert_file: str
    idp_entity_id: str
    metadata_url: str = ""
    metadata_file: str = ""
    metadata_cert_file: str = ""
    clock_skew: int = 120
    allow_unsolicited: bool = False
    timeout: int = 30
    name: str = "madoguchi"


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: who, what the IdP said, and until when its ID is remembered."""

    issuer: str
    assertion_id: str
    name_id: str
    attributes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (Name, FriendlyName, values)
    not_on_or_after: float  # epoch seconds
    session_index: str


def xmlsec_binary() -> str | None:
    """The xmlsec1 program pysaml2 runs, or None (Debian: apt-get install xmlsec1)."""
    try:
        return str(get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]))
    except Exception:
        return None


# --- metadata --------------------------------------------------------------------------

_metadata_lock = threading.Lock()
# source → (when loaded, verified text, pysaml2's parsed store): a federation's metadata
# is parsed once an hour, not at every request.
_metadata: dict[tuple[str, str, str], tuple[float, str, Any]] = {}


def forget() -> None:
    """Drop fetched metadata (tests; a changed configuration)."""
    with _metadata_lock:
        _metadata.clear()


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host:
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
    raise SamlError("misconfigured", f"metadata URL must be https (http only on loopback): {url}")


def _fetch(url: str, timeout: int) -> bytes:
    _check_url(url)
    headers = {"Accept": "application/samlmetadata+xml"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(MAX_METADATA_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SamlError("unreachable", f"{url}: {exc}") from None
    if len(body) > MAX_METADATA_BYTES:
        raise SamlError("misconfigured", f"{url}: metadata larger than {MAX_METADATA_BYTES}")
    return body


def verify_metadata_signature(text: bytes, cert_file: str) -> None:
    """The document's root element must carry an enveloped signature that the certificate
    verifies (xmlsec1, the reference bound to the root's ID)."""
    root = md.entities_descriptor_from_string(text)
    node = "urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor"
    if root is None:
        root = md.entity_descriptor_from_string(text)
        node = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"
    if root is None or root.signature is None:
        raise SamlError("misconfigured", "the IdP metadata is not signed")
    config = SPConfig()
    config.load({"entityid": "urn:madoguchi:metadata-check", "xmlsec_binary": xmlsec_binary()})
    try:
        security_context(config).verify_signature(
            text, cert_file=cert_file, node_name=node, node_id=root.id
        )
    except SignatureError as exc:
        raise SamlError("misconfigured", f"metadata signature: {exc}") from None


def load_metadata(sp: ServiceProvider, *, now: float) -> tuple[str, Any]:
    """The IdP metadata as verified text (a URL's signed by ``metadata_cert_file``,
    always; a file's when a certificate is configured) and pysaml2's store of it. Cached
    per process; while the URL cannot be reached, the last good copy serves for a day."""
    source = (sp.metadata_url, sp.metadata_file, sp.metadata_cert_file)
    with _metadata_lock:
        cached = _metadata.get(source)
    if cached and now - cached[0] < METADATA_SECONDS:
        return cached[1], cached[2]
    try:
        if sp.metadata_url:
            body = _fetch(sp.metadata_url, sp.timeout)
        else:
            try:
                body = Path(sp.metadata_file).read_bytes()
            except OSError as exc:
                raise SamlError("misconfigured", f"metadata file: {exc}") from None
        if sp.metadata_cert_file or sp.metadata_url:
            verify_metadata_signature(body, sp.metadata_cert_file)
        text = body.decode("utf-8")
        store = _config(sp, text).metadata  # parsed (validUntil checked) once per load
    except SamlError as exc:
        if exc.reason == "unreachable" and cached and now - cached[0] < METADATA_STALE_SECONDS:
            return cached[1], cached[2]
        raise
    except UnicodeDecodeError as exc:
        raise SamlError("misconfigured", f"metadata: {exc}") from None
    with _metadata_lock:
        _metadata[source] = (now, text, store)
    return text, store


# --- the client --------------------------------------------------------------------------


def _config(sp: ServiceProvider, metadata: str | None) -> SPConfig:
    binary = xmlsec_binary()
    if binary is None:
        raise SamlError("misconfigured", "xmlsec1 is not installed (apt-get install xmlsec1)")
    settings: dict[str, Any] = {
        "entityid": sp.entity_id,
        "xmlsec_binary": binary,
        "key_file": sp.key_file,
        "cert_file": sp.cert_file,
        # The same pair decrypts: Shibboleth IdPs encrypt to the certificate in our metadata.
        "encryption_keypairs": [{"key_file": sp.key_file, "cert_file": sp.cert_file}],
        "accepted_time_diff": sp.clock_skew,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": sp.name,
                "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
                "signing_algorithm": xmldsig.SIG_RSA_SHA256,
                "digest_algorithm": xmldsig.DIGEST_SHA256,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "authn_requests_signed": True,
                "allow_unsolicited": sp.allow_unsolicited,
                "name_id_format": [NAMEID_TRANSIENT],
                "requested_attributes": [],
            }
        },
    }
    if metadata is not None:
        settings["metadata"] = {"inline": [metadata]}
    config = SPConfig()
    try:
        config.load(settings)
    except Exception as exc:
        raise SamlError("misconfigured", f"pysaml2 configuration: {exc}") from None
    return config


def _client(sp: ServiceProvider, *, now: float) -> Saml2Client:
    _, store = load_metadata(sp, now=now)
    config = _config(sp, None)
    config.metadata = store
    if sp.idp_entity_id not in config.metadata.identity_providers():
        raise SamlError("misconfigured", f"{sp.idp_entity_id} is not an IdP in the metadata")
    return Saml2Client(config=config)


def sp_metadata(sp: ServiceProvider) -> str:
    """Our metadata (entity id, ACS, the certificate for signing and encryption), signed
    with our key."""
    config = _config(sp, None)
    text = create_metadata_string(
        None,
        config=config,
        valid=24 * 7,
        sign=True,
        sign_alg=xmldsig.SIG_RSA_SHA256,
        digest_alg=xmldsig.DIGEST_SHA256,
    )
    return text.decode() if isinstance(text, bytes) else str(text)


def authn_request(sp: ServiceProvider, relay_state: str, *, now: float) -> tuple[str, str]:
    """(request id, the URL to send the browser to: HTTP-Redirect binding, signed)."""
    client = _client(sp, now=now)
    try:
        request_id, info = client.prepare_for_authenticate(
            entityid=sp.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sigalg=xmldsig.SIG_RSA_SHA256,
        )
    except Exception as exc:  # no SSO endpoint for the binding, a bad key
        raise SamlError("misconfigured", f"AuthnRequest: {exc}") from None
    location = dict(info["headers"]).get("Location", "")
    if not location:
        raise SamlError("misconfigured", "the IdP has no HTTP-Redirect SSO endpoint")
    return str(request_id), str(location)


# --- the response ------------------------------------------------------------------------


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _text(element: Any) -> str:
    return (getattr(element, "text", None) or "").strip()


def problem(
    response: Any,
    *,
    sp: ServiceProvider,
    request_id: str | None,
    now: float,
) -> str | None:
    """The first reason to refuse ``response`` (a parsed samlp.Response), or None.
    Runs on the unverified response to explain a refusal and on the verified one as
    the desk's own checks; the signature itself is pysaml2's."""
    if _text(response.issuer) and _text(response.issuer) != sp.idp_entity_id:
        return "issuer"
    if len(response.assertion) != 1:
        return None if response.encrypted_assertion else "token"
    assertion = response.assertion[0]
    if _text(assertion.issuer) != sp.idp_entity_id:
        return "issuer"
    if assertion.signature is None:
        return "unsigned"
    if not _strong(assertion.signature):
        return "signature"
    if response.destination and response.destination != sp.acs_url:
        return "recipient"
    skew = sp.clock_skew
    conditions = assertion.conditions
    audiences = [
        _text(a)
        for r in (conditions.audience_restriction if conditions else [])
        for a in r.audience
    ]
    if sp.entity_id not in audiences:
        return "audience"
    bearer = [
        c
        for c in (assertion.subject.subject_confirmation if assertion.subject else [])
        if c.method == SCM_BEARER and c.subject_confirmation_data is not None
    ]
    if not bearer:
        return "token"
    for confirmation in bearer:
        data = confirmation.subject_confirmation_data
        if data.recipient != sp.acs_url:
            return "recipient"
        until = _epoch(data.not_on_or_after)
        if until is None or now >= until + skew:
            return "expired"
        if (start := _epoch(data.not_before)) is not None and now < start - skew:
            return "not_yet_valid"
        if request_id is not None and data.in_response_to != request_id:
            return "in_response_to"
        if request_id is None and (data.in_response_to or not sp.allow_unsolicited):
            return "in_response_to"
    if conditions is not None:
        if (until := _epoch(conditions.not_on_or_after)) is not None and now >= until + skew:
            return "expired"
        if (start := _epoch(conditions.not_before)) is not None and now < start - skew:
            return "not_yet_valid"
    if request_id is not None and response.in_response_to not in (None, request_id):
        return "in_response_to"
    if request_id is None and response.in_response_to:
        return "in_response_to"
    return None


def _strong(signature: Any) -> bool:
    """RSA or ECDSA with SHA-256 or better, and SHA-256 or better digests: SHA-1 is
    refused (GakuNin and Shibboleth IdPs have signed with SHA-256 for years)."""
    info = signature.signed_info
    if info is None or info.signature_method is None or not info.reference:
        return False
    if info.signature_method.algorithm not in SIGNATURE_ALGORITHMS:
        return False
    return all(
        r.digest_method is not None and r.digest_method.algorithm in DIGEST_ALGORITHMS
        for r in info.reference
    )


def _name_id(assertion: Any) -> str:
    name_id = assertion.subject.name_id if assertion.subject else None
    return _text(name_id) if isinstance(name_id, NameID) else ""


def _values(attribute: Any) -> tuple[str, ...]:
    values: list[str] = []
    for value in attribute.attribute_value:
        text = _text(value)
        if not text:  # eduPersonTargetedID: a NameID inside the value
            for child in value.extension_elements or ():
                text = (child.text or "").strip()
                if text:
                    break
        if text:
            values.append(text)
    return tuple(values)


def verify_response(
    sp: ServiceProvider,
    saml_response: str,
    *,
    request_id: str | None,
    now: float,
) -> Assertion:
    """Check a base64 SAMLResponse from the HTTP-POST binding, answering ``request_id``
    (None: an unsolicited response, refused unless allowed). Raises SamlError."""
    if len(saml_response) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise SamlError("token", "response too large")
    try:
        xml = base64.b64decode(saml_response, validate=False)
        unverified = samlp.response_from_string(xml)
    except Exception as exc:  # not base64, not XML, not a Response, or hostile XML
        raise SamlError("token", f"unreadable response: {type(exc).__name__}: {exc}") from None
    if unverified is None:
        raise SamlError("token", "not a SAML Response")
    if _text(unverified.issuer) and _text(unverified.issuer) != sp.idp_entity_id:
        raise SamlError("issuer", f"response from {_text(unverified.issuer)!r}")
    status = unverified.status.status_code if unverified.status else None
    if status is not None and status.value != samlp.STATUS_SUCCESS:
        inner = status.status_code.value if status.status_code else ""
        raise SamlError("provider_error", f"{status.value} {inner}".strip())
    first = problem(unverified, sp=sp, request_id=request_id, now=now)
    if first in ("issuer", "unsigned"):  # before any cryptography
        raise SamlError(first, "from the unverified response")

    client = _client(sp, now=now)
    outstanding = {request_id: "/"} if request_id else {}
    try:
        verified = client.parse_authn_request_response(
            saml_response,
            BINDING_HTTP_POST,
            outstanding=outstanding,
            conv_info={"entity_id": sp.entity_id},
        )
    except StatusError as exc:
        raise SamlError("provider_error", str(exc)) from None
    except Exception as exc:
        # The desk's own checks name the reason when they find one; else it was the
        # signature (or something only pysaml2 looks at).
        raise SamlError(first or "signature", f"{type(exc).__name__}: {exc}") from None
    if verified is None or verified.assertion is None:  # e.g. a Destination not ours
        raise SamlError(first or "token", "pysaml2 returned no assertion")
    # The assertion as verified (decrypted, when it was encrypted), checked again.
    response = verified.response
    response.assertion = [verified.assertion]
    reason = problem(response, sp=sp, request_id=request_id, now=now)
    if reason:
        raise SamlError(reason, "on the verified assertion")
    assertion = verified.assertion
    ends = [
        _epoch(c.subject_confirmation_data.not_on_or_after)
        for c in assertion.subject.subject_confirmation
        if c.subject_confirmation_data is not None
    ]
    if assertion.conditions is not None:
        ends.append(_epoch(assertion.conditions.not_on_or_after))
    until = min((e for e in ends if e is not None), default=now)
    attributes = tuple(
        (str(a.name or ""), str(a.friendly_name or ""), _values(a))
        for statement in assertion.attribute_statement
        for a in statement.attribute
    )
    session_index = ""
    for statement in assertion.authn_statement:
        session_index = statement.session_index or session_index
    return Assertion(
        issuer=sp.idp_entity_id,
        assertion_id=str(assertion.id),
        name_id=_name_id(assertion),
        attributes=attributes,
        not_on_or_after=until + sp.clock_skew,
        session_index=session_index,
    )
