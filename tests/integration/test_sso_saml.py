"""SAML 2.0 sign-in against a real IdP in the test process: pysaml2's own ``Server``.

The IdP has its own key pair and a federation signs its metadata (as GakuNin does), all
made here with ``cryptography`` (no key is committed). The desk's SP metadata comes from
``/sso/saml/metadata/``; the AuthnRequest goes through the HTTP-Redirect binding (the IdP
checks its signature), the answer comes back as the IdP's HTTP-POST form. What a
well-behaved IdP never sends (unsigned assertions, wrong audience or recipient, expired,
replayed, another IdP's) is made by the same IdP: an unsigned response is edited and then
signed with the IdP's key, so only the one thing under test is wrong.
"""

from __future__ import annotations

import base64
import html
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from madoguchi.accounts import requester
from madoguchi.privacy.models import AuditEvent
from madoguchi.sso.models import ExternalIdentity
from tests.integration.conftest import make_key_pair

saml2 = pytest.importorskip("saml2", reason="pysaml2 is not installed")

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2 import class_name as saml_class_name  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import entities_descriptor, entity_descriptor  # noqa: E402
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.sigver import pre_signature_part, security_context, signed_instance_factory  # noqa: E402
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256  # noqa: E402

from madoguchi.sso import saml as desk_saml  # noqa: E402

pytestmark = [pytest.mark.django_db]

XMLSEC = desk_saml.xmlsec_binary()
if XMLSEC is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but xmlsec1 is not installed (apt-get install xmlsec1)")
    print("SKIP: xmlsec1 is not installed (apt-get install xmlsec1); the SAML tests need it")
    pytestmark.append(pytest.mark.skip(reason="xmlsec1 is not installed (apt-get install xmlsec1)"))

IDP = "https://idp.example.ac.jp/idp/shibboleth"
OTHER_IDP = "https://idp.other.example.ac.jp/idp/shibboleth"
UNKNOWN_IDP = "https://idp.unknown.example/idp/shibboleth"
SSO_URL = "https://idp.example.ac.jp/idp/profile/SAML2/Redirect/SSO"
SLO_URL = "https://idp.example.ac.jp/idp/profile/SAML2/Redirect/SLO"
AUTHN = {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}

# OIDs of the attributes as a Shibboleth IdP releases them (SAML 2.0 URI name format).
EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
DISPLAY_NAME = "urn:oid:2.16.840.1.113730.3.1.241"
JA_DISPLAY_NAME = "urn:oid:1.3.6.1.4.1.32264.1.1.3"
AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
SCOPED_AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"
IS_MEMBER_OF = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"


# --- keys and certificates ---------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[str, str]]:
    directory = tmp_path_factory.mktemp("saml-keys")
    return {name: make_key_pair(directory, name) for name in ("desk", "idp", "other", "federation")}


# --- the IdP -------------------------------------------------------------------------------


def _idp_config(entity_id: str, pair: tuple[str, str], sp_metadata: str | None) -> IdPConfig:
    config = IdPConfig()
    config.load(
        {
            "entityid": entity_id,
            "xmlsec_binary": XMLSEC,
            "key_file": pair[0],
            "cert_file": pair[1],
            "allow_unknown_attributes": True,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (entity_id.replace("/idp/shibboleth", "/sso"), BINDING_HTTP_REDIRECT)
                        ]
                        if entity_id != IDP
                        else [(SSO_URL, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(SLO_URL, BINDING_HTTP_REDIRECT)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                    "want_authn_requests_signed": True,
                    "signing_algorithm": SIG_RSA_SHA256,
                    "digest_algorithm": DIGEST_SHA256,
                }
            },
            **({"metadata": {"inline": [sp_metadata]}} if sp_metadata else {}),
        }
    )
    return config


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


class Idp:
    """One IdP of the federation, answering the desk's AuthnRequests."""

    def __init__(self, entity_id: str, pair: tuple[str, str], sp_metadata: str) -> None:
        self.entity_id = entity_id
        self.server = Server(config=_idp_config(entity_id, pair, sp_metadata))

    def read_request(self, location: str) -> tuple[dict[str, Any], str]:
        """The AuthnRequest of a redirect to the IdP (its signature checked): the
        arguments of the answer, and the RelayState."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        request = self.server.parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )
        assert (
            request is not None
            and request.signature_check(
                request.xmlstr,
                binding=BINDING_HTTP_REDIRECT,
                relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
            is not False
        )
        return self.server.response_args(request.message), query.get("RelayState", "")

    def answer(self, args: dict[str, Any], identity: dict[str, list[str]], **kwargs: Any) -> Any:
        kwargs.setdefault("sign_assertion", True)
        kwargs.setdefault("sign_response", False)
        return self.server.create_authn_response(
            identity, userid="u-" + identity.get(EPPN, ["x"])[0], authn=AUTHN, **args, **kwargs
        )

    def crafted(
        self,
        args: dict[str, Any],
        identity: dict[str, list[str]],
        edit: Callable[[Any], None] = lambda response: None,
        *,
        sign_assertion: bool = True,
        sign_response: bool = False,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
    ) -> str:
        """An answer made unsigned, edited, then signed with this IdP's key."""
        response = self.answer(args, identity, sign_assertion=False, sign_response=False)
        edit(response)
        assertion = response.assertion
        if isinstance(assertion, list):
            assertion = assertion[0]
        to_sign = []
        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, self.server.sec.my_cert, 2, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((saml_class_name(assertion), assertion.id))
        if sign_response:
            response.signature = pre_signature_part(
                response.id, self.server.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((saml_class_name(response), response.id))
        return str(signed_instance_factory(response, self.server.sec, to_sign))

    def form(self, response: Any, relay_state: str, destination: str) -> dict[str, str]:
        """The IdP's HTTP-POST form, read back as the browser would post it."""
        info = self.server.apply_binding(
            BINDING_HTTP_POST, str(response), destination, relay_state, response=True
        )
        page = info["data"]
        fields = dict(re.findall(r'name="([^"]+)"\s+value="([^"]*)"', page))
        assert "SAMLResponse" in fields and fields.get("RelayState") == relay_state, page[:500]
        return {k: html.unescape(v) for k, v in fields.items()}


def _first(response: Any) -> Any:
    return response.assertion[0] if isinstance(response.assertion, list) else response.assertion


def _federation_metadata(keys: dict[str, tuple[str, str]], *, sign: bool = True) -> str:
    descriptors = [
        entity_descriptor(_idp_config(IDP, keys["idp"], None)),
        entity_descriptor(_idp_config(OTHER_IDP, keys["other"], None)),
    ]
    federation = _idp_config("https://fed.example/", keys["federation"], None)
    _, xml = entities_descriptor(
        descriptors, 24, "https://fed.example/", "fed-md", sign, security_context(federation)
    )
    if not sign:
        from saml2.md import EntitiesDescriptor

        return str(EntitiesDescriptor(entity_descriptor=descriptors))
    return str(xml)


@pytest.fixture(autouse=True)
def _english(english):
    """English texts are asserted (the shared ``english`` fixture)."""


@pytest.fixture(autouse=True)
def _fresh():
    from django.core.cache import cache

    desk_saml.forget()
    cache.clear()
    yield
    desk_saml.forget()


def configure(settings, keys, metadata_file: str, **extra: Any) -> None:
    settings.SAML_IDP_METADATA_URL = ""
    settings.SAML_IDP_METADATA_FILE = metadata_file
    settings.SAML_IDP_CERT_FILE = keys["federation"][1]
    settings.SAML_IDP_ENTITY_ID = IDP
    settings.SAML_SP_KEY_FILE, settings.SAML_SP_CERT_FILE = keys["desk"]
    settings.SAML_NAME = "GakuNin"
    settings.SAML_STAFF_GROUPS = ""
    settings.SAML_ALLOW_UNSOLICITED = False
    settings.OIDC_DISCOVERY_URL = settings.OIDC_CLIENT_ID = ""
    for name, value in extra.items():
        setattr(settings, f"SAML_{name}", value)


@pytest.fixture
def federation(client, settings, keys, tmp_path) -> dict[str, Idp]:
    path = tmp_path / "federation.xml"
    path.write_text(_federation_metadata(keys), encoding="utf-8")
    configure(settings, keys, str(path))
    sp_metadata = client.get("/sso/saml/metadata/")
    assert sp_metadata.status_code == 200
    text = sp_metadata.content.decode()
    return {
        "idp": Idp(IDP, keys["idp"], text),
        "other": Idp(OTHER_IDP, keys["other"], text),
        "unknown": Idp(UNKNOWN_IDP, keys["other"], text),
    }


def start(client, kind: str, next_url: str = "") -> str:
    query = urllib.parse.urlencode({"as": kind, **({"next": next_url} if next_url else {})})
    response = client.get(f"/sso/saml/login/?{query}")
    assert response.status_code == 302, response.content[:800]
    assert response["Location"].startswith(SSO_URL + "?")
    return response["Location"]


def person(eppn: str, **more: list[str]) -> dict[str, list[str]]:
    return {EPPN: [eppn], **more}


def sign_in(client, idp: Idp, identity, kind: str = "requester", next_url: str = "", **kw):
    args, relay = idp.read_request(start(client, kind, next_url))
    fields = idp.form(idp.answer(args, identity, **kw), relay, args["destination"])
    return client.post("/sso/saml/acs/", fields)


def refused(response, reason: str, status: int = 400) -> None:
    page = response.content.decode()
    assert response.status_code == status, (response.status_code, page[:1500])
    assert f"Code for the desk: {reason}" in page, page[:1500]
    assert "_auth_user_id" not in response.wsgi_request.session


# --- sign-in -------------------------------------------------------------------------------


def test_sp_metadata_is_signed_and_names_our_endpoints(client, settings, federation):
    response = client.get("/sso/saml/metadata/")
    assert response["Content-Type"].startswith("application/samlmetadata+xml")
    text = response.content.decode()
    assert f'entityID="{settings.SITE_URL}/sso/saml/metadata/"' in text
    assert f'Location="{settings.SITE_URL}/sso/saml/acs/"' in text
    assert "Signature" in text and 'WantAssertionsSigned="true"' in text
    # Never from the Host header.
    other = client.get("/sso/saml/metadata/", HTTP_HOST="evil.example")
    assert "evil.example" not in other.content.decode()


def test_signing_out_ends_the_desk_session_and_offers_the_idps_own(client, federation):
    identity = person("taro@example.ac.jp", **{MAIL: ["taro@example.ac.jp"]})
    assert sign_in(client, federation["idp"], identity).status_code == 302
    page = client.post("/accounts/logout/?lang=en")
    assert page.status_code == 200 and SLO_URL in page.content.decode()
    assert "madoguchi_requester" not in client.session  # the desk's sign-in is over


def test_staff_sign_in_with_the_tier_from_is_member_of(client, settings, federation):
    settings.SAML_STAFF_GROUPS = "urn:mace:example.ac.jp:desk-faculty=faculty"
    identity = person(
        "hanako@example.ac.jp",
        **{
            MAIL: ["Hanako@Example.ac.jp"],
            JA_DISPLAY_NAME: ["山田 花子"],
            DISPLAY_NAME: ["Hanako Yamada"],
            IS_MEMBER_OF: ["urn:mace:example.ac.jp:x", "urn:mace:example.ac.jp:desk-faculty"],
        },
    )
    response = sign_in(client, federation["idp"], identity, "staff", "/console/?view=all")
    assert response.status_code == 302, response.content[:1500]
    assert response["Location"] == "/console/?view=all"
    found = ExternalIdentity.objects.get(issuer=IDP, key="hanako@example.ac.jp")
    user = found.user
    assert (user.tier, user.email, user.display_name) == (
        "faculty",
        "hanako@example.ac.jp",
        "山田 花子",
    )
    assert not user.has_usable_password()
    assert client.get("/console/").status_code == 200
    assert AuditEvent.objects.filter(verb="auth.sso_signed_in", actor=user).exists()


def test_requester_sign_in_with_the_member_category_from_affiliation(client, federation):
    identity = person(
        "gakusei@example.ac.jp",
        **{
            MAIL: ["gakusei@example.ac.jp"],
            DISPLAY_NAME: ["Ichiro Gakusei"],
            SCOPED_AFFILIATION: ["member@example.ac.jp", "student@example.ac.jp"],
        },
    )
    response = sign_in(client, federation["idp"], identity, "requester", "/faq/")
    assert response.status_code == 302 and response["Location"] == "/faq/"
    signed_in = requester.current(client.session)
    assert signed_in is not None
    assert (
        signed_in.email,
        signed_in.via,
        signed_in.name,
        signed_in.member_category,
        signed_in.key,
    ) == (
        "gakusei@example.ac.jp",
        "saml",
        "Ichiro Gakusei",
        "student_current",
        "gakusei@example.ac.jp",
    )
    assert not ExternalIdentity.objects.exists()  # requesters get no account


def test_the_same_eppn_with_a_changed_mail_is_the_same_person(client, settings, federation):
    settings.SAML_STAFF_GROUPS = "desk=student"
    for mail in ("saburo@old.example.ac.jp", "saburo@new.example.ac.jp"):
        identity = person(
            "saburo@example.ac.jp", **{MAIL: [mail], AFFILIATION: ["staff"], IS_MEMBER_OF: ["desk"]}
        )
        response = sign_in(client, federation["idp"], identity, "staff")
        assert response.status_code == 302, response.content[:1500]
        client.logout()
    found = ExternalIdentity.objects.get()
    assert found.email == found.user.email == "saburo@new.example.ac.jp"
    assert found.user.username == "saburo@old.example.ac.jp"


def test_a_cross_site_post_is_posted_again_from_the_desk(client, federation):
    """The browser keeps the SameSite=Lax session cookie back on the IdP's cross-site
    form post: the desk answers with its own form of the same fields, which it sends."""
    from django.test import Client

    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    fields = idp.form(
        idp.answer(args, person("c@example.ac.jp", **{MAIL: ["c@example.ac.jp"]})),
        relay,
        args["destination"],
    )
    bounce = Client().post("/sso/saml/acs/", fields)  # no cookies at all
    assert bounce.status_code == 200
    page = bounce.content.decode()
    assert 'action="/sso/saml/acs/"' in page and 'name="madoguchi_resent"' in page
    reposted = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    reposted = {k: html.unescape(v) for k, v in reposted.items()}
    assert reposted["SAMLResponse"] == fields["SAMLResponse"]
    response = client.post("/sso/saml/acs/", reposted)
    assert response.status_code == 302
    assert requester.current(client.session) is not None


# --- refusals --------------------------------------------------------------------------------

GOOD = person("r@example.ac.jp", **{MAIL: ["r@example.ac.jp"]})


def _post(client, idp: Idp, xml: str, relay: str, args: dict[str, Any]):
    return client.post("/sso/saml/acs/", idp.form(xml, relay, args["destination"]))


def test_a_tampered_assertion_is_refused(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    xml = str(idp.answer(args, GOOD))
    assert "r@example.ac.jp" in xml
    tampered = xml.replace("r@example.ac.jp", "boss@example.ac.jp")
    refused(_post(client, idp, tampered, relay, args), "signature")
    assert requester.current(client.session) is None
    assert AuditEvent.objects.filter(verb="auth.sso_refused", data__reason="signature").exists()


def test_an_unsigned_assertion_in_a_signed_response_is_refused(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    xml = idp.crafted(args, GOOD, sign_assertion=False, sign_response=True)
    refused(_post(client, idp, xml, relay, args), "unsigned")


def test_a_sha1_signature_is_refused(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    xml = idp.crafted(args, GOOD, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    refused(_post(client, idp, xml, relay, args), "signature")


def test_a_signature_by_a_key_not_in_the_metadata_is_refused(client, federation, keys, settings):
    """An assertion that names our IdP, signed by another key (the other IdP's)."""
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    impostor = Idp(IDP, keys["other"], client.get("/sso/saml/metadata/").content.decode())
    refused(_post(client, idp, str(impostor.answer(args, GOOD)), relay, args), "signature")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("audience", "audience"),
        ("no_audience", "audience"),
        ("recipient", "recipient"),
        ("recipient_is_entity_id", "recipient"),
        ("destination", "recipient"),
        ("expired", "expired"),
        ("conditions_expired", "expired"),
        ("not_yet_valid", "not_yet_valid"),
        ("in_response_to", "in_response_to"),
        ("no_in_response_to", "in_response_to"),
    ],
)
def test_assertions_that_are_not_for_this_sign_in_are_refused(
    client, settings, federation, case, reason
):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    at = time.time()

    def edit(response: Any) -> None:
        assertion = _first(response)
        data = assertion.subject.subject_confirmation[0].subject_confirmation_data
        conditions = assertion.conditions
        if case == "audience":
            conditions.audience_restriction[0].audience[0].text = "https://other-sp.example/"
        elif case == "no_audience":
            conditions.audience_restriction = []
        elif case == "recipient":
            data.recipient = "https://evil.example/sso/saml/acs/"
        elif case == "recipient_is_entity_id":
            data.recipient = f"{settings.SITE_URL}/sso/saml/metadata/"
        elif case == "destination":
            response.destination = "https://evil.example/sso/saml/acs/"
        elif case == "expired":  # past NotOnOrAfter by more than the skew (120 s)
            data.not_on_or_after = _iso(at - 181)
        elif case == "conditions_expired":
            conditions.not_on_or_after = _iso(at - 181)
        elif case == "not_yet_valid":
            conditions.not_before = _iso(at + 600)
        elif case == "in_response_to":
            data.in_response_to = response.in_response_to = "_not-our-request"
        elif case == "no_in_response_to":
            data.in_response_to = response.in_response_to = None

    refused(_post(client, idp, idp.crafted(args, GOOD, edit), relay, args), reason)
    assert requester.current(client.session) is None


def test_expiry_allows_the_skew_only(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))

    def edit(response: Any) -> None:
        data = _first(response).subject.subject_confirmation[0].subject_confirmation_data
        data.not_on_or_after = _iso(time.time() - 30)  # within 120 s

    response = _post(client, idp, idp.crafted(args, GOOD, edit), relay, args)
    assert response.status_code == 302, response.content[:1500]


def test_a_replayed_response_is_refused(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    fields = idp.form(idp.answer(args, GOOD), relay, args["destination"])
    assert client.post("/sso/saml/acs/", fields).status_code == 302
    # Once more in this session: the sign-in it answers is spent.
    refused(client.post("/sso/saml/acs/", fields), "state")
    # In another browser: no such sign-in either.
    from django.test import Client

    other = Client()
    other.cookies["sessionid"] = "x"
    other.cookies["madoguchi_lang"] = "en"
    refused(other.post("/sso/saml/acs/", fields), "state")


def test_a_replayed_assertion_id_is_refused_even_for_a_new_sign_in(client, federation):
    """An IdP (or a thief with its key's output) sending an accepted assertion's ID again,
    in an answer to a new request: the assertion cache refuses it."""
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    first = idp.crafted(args, GOOD, lambda r: setattr(_first(r), "id", "_assertion-once"))
    assert _post(client, idp, first, relay, args).status_code == 302
    args, relay = idp.read_request(start(client, "requester"))
    again = idp.crafted(args, GOOD, lambda r: setattr(_first(r), "id", "_assertion-once"))
    refused(_post(client, idp, again, relay, args), "replay")
    assert AuditEvent.objects.filter(verb="auth.sso_refused", data__reason="replay").exists()


def test_unsolicited_responses_are_refused_unless_allowed(client, settings, federation):
    idp = federation["idp"]
    args, _ = idp.read_request(start(client, "requester"))

    def unsolicited(response: Any) -> None:
        data = _first(response).subject.subject_confirmation[0].subject_confirmation_data
        data.in_response_to = response.in_response_to = None

    xml = idp.crafted(args, GOOD, unsolicited)
    refused(
        client.post("/sso/saml/acs/", {"SAMLResponse": base64.b64encode(xml.encode()).decode()}),
        "unsolicited",
    )
    settings.SAML_ALLOW_UNSOLICITED = True
    response = client.post(
        "/sso/saml/acs/", {"SAMLResponse": base64.b64encode(xml.encode()).decode()}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert requester.current(client.session) is not None
    # Allowed, an answer naming a request is still checked against this session's.
    args, _ = idp.read_request(start(client, "requester"))
    refused(
        client.post(
            "/sso/saml/acs/",
            {"SAMLResponse": base64.b64encode(str(idp.answer(args, GOOD)).encode()).decode()},
        ),
        "in_response_to",
    )


@pytest.mark.parametrize("who", ["other", "unknown"])
def test_an_idp_other_than_the_configured_one_is_refused(client, federation, who):
    """Another IdP of the same federation (its metadata signed, its signature good) or
    one in no metadata at all."""
    idp = federation[who]
    args, relay = federation["idp"].read_request(start(client, "staff"))
    response = _post(client, idp, str(idp.answer(args, GOOD)), relay, args)
    refused(response, "issuer", 403)
    assert "identity provider this desk does not know" in response.content.decode()


def test_an_idp_that_says_no_gives_its_status(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    from saml2.samlp import STATUS_AUTHN_FAILED

    error = idp.server.create_error_response(
        args["in_response_to"], args["destination"], (STATUS_AUTHN_FAILED, "cancelled")
    )
    response = _post(client, idp, str(error), relay, args)
    refused(response, "provider_error")
    assert "AuthnFailed" in response.content.decode()


def test_no_stable_key_no_sign_in(client, federation):
    idp = federation["idp"]
    response = sign_in(client, idp, {MAIL: ["k@example.ac.jp"]}, "requester")
    refused(response, "no_key", 403)


def test_routes_without_configuration_and_bad_input(client, settings, federation):
    args, relay = federation["idp"].read_request(start(client, "requester"))
    refused(
        client.post("/sso/saml/acs/", {"SAMLResponse": "not base64!", "RelayState": "x"}), "state"
    )
    refused(client.post("/sso/saml/acs/", {"SAMLResponse": "PHg+", "RelayState": relay}), "token")
    assert client.get("/sso/saml/acs/").status_code == 405
    assert client.get("/sso/saml/login/?as=root").status_code == 400
    settings.SAML_IDP_ENTITY_ID = settings.SAML_IDP_METADATA_FILE = ""
    assert client.get("/sso/saml/login/?as=staff").status_code == 404
    assert client.post("/sso/saml/acs/", {"SAMLResponse": "x"}).status_code == 404
    settings.SAML_SP_KEY_FILE = ""
    assert client.get("/sso/saml/metadata/").status_code == 404


def test_next_must_be_local(client, federation):
    for unsafe in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = sign_in(client, federation["idp"], GOOD, "requester", unsafe)
        assert response["Location"] == "/", unsafe


def test_the_pages_offer_the_button_only_when_configured(client, settings, federation):
    page = client.get("/accounts/login/?next=/console/").content.decode()
    assert "/sso/saml/login/?as=staff&amp;next=/console/" in page and "GakuNin" in page
    page = client.get("/signin/?next=/faq/").content.decode()
    assert "/sso/saml/login/?as=requester&amp;next=/faq/" in page
    settings.SAML_IDP_ENTITY_ID = ""
    assert "/sso/saml/login/" not in client.get("/accounts/login/").content.decode()
    assert "/sso/saml/login/" not in client.get("/signin/").content.decode()


# --- metadata over the network -----------------------------------------------------------


@pytest.fixture
def metadata_server(keys) -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"body": b"", "fetches": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            state["fetches"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_port}/gakunin-metadata.xml"
    yield state
    server.shutdown()
    server.server_close()


def test_metadata_from_a_url_must_be_signed_by_the_federation(
    client, settings, keys, metadata_server
):
    configure(settings, keys, "")
    settings.SAML_IDP_METADATA_URL = metadata_server["url"]
    metadata_server["body"] = _federation_metadata(keys, sign=False).encode()
    response = client.get("/sso/saml/login/?as=staff")
    assert response.status_code == 502 and "misconfigured" in response.content.decode()
    # Signed, but by another key than the federation's.
    settings.SAML_IDP_CERT_FILE = keys["other"][1]
    metadata_server["body"] = _federation_metadata(keys).encode()
    assert client.get("/sso/saml/login/?as=staff").status_code == 502
    settings.SAML_IDP_CERT_FILE = keys["federation"][1]
    response = client.get("/sso/saml/login/?as=staff")
    assert response.status_code == 302 and response["Location"].startswith(SSO_URL)
    fetches = metadata_server["fetches"]
    client.get("/sso/saml/login/?as=staff")
    assert metadata_server["fetches"] == fetches  # cached
    # An edited document no longer verifies.
    desk_saml.forget()
    metadata_server["body"] = (
        _federation_metadata(keys).replace(SSO_URL, "https://evil.example/sso").encode()
    )
    assert client.get("/sso/saml/login/?as=staff").status_code == 502


def test_a_metadata_url_without_a_certificate_stops_the_start(settings, keys):
    from django.core.exceptions import ImproperlyConfigured

    from madoguchi.sso import config

    configure(settings, keys, "")
    settings.SAML_IDP_METADATA_URL = "https://metadata.gakunin.nii.ac.jp/gakunin-metadata.xml"
    settings.SAML_IDP_CERT_FILE = ""
    with pytest.raises(ImproperlyConfigured, match="CERT_FILE"):
        config.saml()


def test_admin_sees_the_saml_settings(client, settings, federation):
    from tests.integration.conftest import make_user

    settings.SAML_STAFF_GROUPS = "desk=faculty"
    client.force_login(make_user("root", superuser=True))
    page = client.get("/admin/sso/externalidentity/settings/").content.decode()
    assert "MADOGUCHI_SAML_IDP_ENTITY_ID" in page and IDP in page
    assert f"{settings.SITE_URL}/sso/saml/acs/" in page and "desk → faculty" in page


def test_an_encrypted_signed_assertion_is_decrypted_with_the_desks_key(client, federation):
    """Shibboleth IdPs encrypt to the certificate in the SP metadata by default."""
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    identity = person("enc@example.ac.jp", **{MAIL: ["enc@example.ac.jp"]})
    answer = idp.answer(
        args, identity, encrypt_assertion=True, encrypt_assertion_self_contained=True
    )
    assert "EncryptedAssertion" in str(answer)
    response = client.post("/sso/saml/acs/", idp.form(answer, relay, args["destination"]))
    assert response.status_code == 302, response.content[:1500]
    signed_in = requester.current(client.session)
    assert signed_in is not None and signed_in.email == "enc@example.ac.jp"


def test_an_encrypted_unsigned_assertion_is_refused(client, federation):
    idp = federation["idp"]
    args, relay = idp.read_request(start(client, "requester"))
    answer = idp.answer(
        args,
        GOOD,
        sign_assertion=False,
        sign_response=True,
        encrypt_assertion=True,
        encrypt_assertion_self_contained=True,
    )
    assert "EncryptedAssertion" in str(answer)
    response = client.post("/sso/saml/acs/", idp.form(answer, relay, args["destination"]))
    refused(response, "signature")  # what was inside is known only after decryption
    assert requester.current(client.session) is None
