"""Claims and SAML attributes → person, and the URL and header checks of sso.oidc: pure, no
provider."""

from __future__ import annotations

import pytest

from madoguchi.sso import oidc
from madoguchi.sso.claims import (
    parse_mapping,
    person_from_claims,
    person_from_saml,
    saml_attributes,
    stable_key,
    tier_from_groups,
)
from madoguchi.sso.config import DEFAULT_CATEGORY_MAP

NAMES = dict(
    email_claims=("email", "preferred_username", "upn"),
    name_claims=("name", "preferred_username"),
    group_claims=("groups", "roles"),
    category_claims=("eduperson_affiliation", "affiliation", "roles", "groups"),
    category_map=parse_mapping(DEFAULT_CATEGORY_MAP),
)


def test_entra_key_is_tenant_and_object_id_and_mail_falls_back_to_the_upn():
    person = person_from_claims(
        {
            "iss": "https://login.microsoftonline.com/T/v2.0",
            "sub": "pairwise",
            "tid": "T",
            "oid": "O",
            "preferred_username": "Taro@Univ.ac.jp",
            "roles": ["Student"],
        },
        **NAMES,
    )
    assert (person.key, person.email, person.name) == ("t/o", "taro@univ.ac.jp", "Taro@Univ.ac.jp")
    assert person.member_category == "student_current"
    assert stable_key({"sub": "s"}) == "s"


def test_an_unverified_email_is_not_used_and_the_map_order_is_the_preference():
    person = person_from_claims(
        {
            "sub": "s",
            "email": "x@evil.example",
            "email_verified": False,
            "eduperson_affiliation": ["member", "student", "staff"],
        },
        **NAMES,
    )
    assert person.email == "" and person.member_category == "staff"
    assert person_from_claims({"sub": "s", "groups": "a b"}, **NAMES).groups == ("a", "b")


def test_tiers_and_mappings():
    groups = parse_mapping("G-Fac=faculty, g-stu=student")
    assert tier_from_groups(["g-stu", "G-FAC"], groups) == "faculty"
    assert tier_from_groups(["g-stu"], groups) == "student"
    assert tier_from_groups(["other"], groups) == ""
    with pytest.raises(ValueError):
        parse_mapping("no-equals-sign")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://login.microsoftonline.com/x", True),
        ("http://127.0.0.1:8080/x", True),
        ("http://localhost:8080/x", True),
        ("http://[::1]/x", True),
        ("http://idp.example.ac.jp/x", False),
        ("http://10.0.0.1/x", False),
        ("file:///etc/passwd", False),
        ("ftp://idp.example/x", False),
        ("https:///nohost", False),
    ],
)
def test_only_https_or_loopback_urls_are_fetched(url, ok):
    if ok:
        assert oidc.check_url(url) == url
    else:
        with pytest.raises(oidc.OidcError):
            oidc.check_url(url)


def test_pkce_challenge_is_rfc7636s_example():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oidc.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# --- SAML attributes ---------------------------------------------------------------------

CATEGORIES = {"faculty": "faculty_fulltime", "staff": "staff", "student": "student_current"}


def test_saml_attributes_by_oid_or_friendly_name() -> None:
    attributes = saml_attributes(
        [
            ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "", ["taro@example.ac.jp"]),
            ("mail", "", [" Taro@Example.ac.jp "]),  # a friendly name as the Name
            ("urn:x:unknown", "jaDisplayName", ["山田 太郎"]),  # known by FriendlyName only
            ("urn:oid:1.3.6.1.4.1.5923.1.5.1.1", "isMemberOf", ["g1"]),
            ("urn:oid:1.3.6.1.4.1.5923.1.5.1.1", "isMemberOf", ["g2", ""]),
            ("urn:x:other", "", ["kept"]),
        ]
    )
    assert attributes == {
        "eduPersonPrincipalName": ["taro@example.ac.jp"],
        "mail": ["Taro@Example.ac.jp"],
        "jaDisplayName": ["山田 太郎"],
        "isMemberOf": ["g1", "g2"],
        "urn:x:other": ["kept"],
    }
    person = person_from_saml(
        "https://idp", attributes, key_attribute="eduPersonPrincipalName", category_map={}
    )
    assert (person.key, person.email, person.name, person.groups) == (
        "taro@example.ac.jp",
        "taro@example.ac.jp",
        "山田 太郎",
        ("g1", "g2"),
    )


def test_saml_names_japanese_first_then_latin() -> None:
    def name(**values: list[str]) -> str:
        return person_from_saml("i", values, key_attribute="x", category_map={}).name

    assert name(jasn=["山田"], jaGivenName=["花子"], displayName=["Hanako Yamada"]) == "山田 花子"
    assert name(displayName=["Hanako Yamada"], sn=["Yamada"]) == "Hanako Yamada"
    assert name(givenName=["Hanako"], sn=["Yamada"]) == "Hanako Yamada"
    assert name() == ""


def test_saml_category_from_scoped_affiliation_in_the_maps_order() -> None:
    def category(**values: list[str]) -> str:
        return person_from_saml(
            "i", values, key_attribute="x", category_map=CATEGORIES
        ).member_category

    assert category(eduPersonScopedAffiliation=["student@example.ac.jp"]) == "student_current"
    assert category(eduPersonAffiliation=["member", "student", "staff"]) == "staff"
    assert category(eduPersonAffiliation=["member"]) == ""


def test_saml_key_attribute_by_name_or_oid() -> None:
    values = {"pairwise-id": ["abc@example.ac.jp"], "eduPersonPrincipalName": ["p@example"]}
    by_name = person_from_saml("i", values, key_attribute="pairwise-id", category_map={})
    by_oid = person_from_saml(
        "i",
        values,
        key_attribute="urn:oasis:names:tc:SAML:attribute:pairwise-id",
        category_map={},
    )
    assert by_name.key == by_oid.key == "abc@example.ac.jp"
    missing = person_from_saml("i", values, key_attribute="subject-id", category_map={})
    assert missing.key == ""


def test_the_university_id_comes_from_the_configured_claim_or_attribute():
    from madoguchi.sso.claims import person_from_saml

    claims = {"iss": "https://idp", "sub": "s", "employeeId": "0123456789", "email": "a@b.jp"}
    assert person_from_claims(claims, **NAMES).common_id == ""  # not configured: not read
    assert person_from_claims(claims, **NAMES, common_id_claims=("employeeId",)).common_id == (
        "0123456789"
    )
    attributes = {"eduPersonPrincipalName": ["taro@univ.ac.jp"], "jaStudentNumber": ["0123456789"]}
    person = person_from_saml(
        "https://idp",
        attributes,
        key_attribute="eduPersonPrincipalName",
        category_map={},
        common_id_attribute="jaStudentNumber",
    )
    assert person.common_id == "0123456789" and person.key == "taro@univ.ac.jp"
