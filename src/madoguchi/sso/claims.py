"""From verified ID token claims or SAML attributes to the person the desk knows: pure,
no Django.

The stable key is what never changes for one person at one identity provider: Entra ID's
``oid`` within its tenant (``tid``), else ``sub`` (unique within the issuer, OIDC Core
§2). For SAML it is the attribute ``MADOGUCHI_SAML_KEY_ATTRIBUTE`` names (by default
eduPersonPrincipalName). Mail and name are only looked at, never used to find the person
again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TIER_ORDER = ("student", "faculty")  # later wins


@dataclass(frozen=True)
class Person:
    issuer: str
    key: str
    email: str
    name: str
    member_category: str
    groups: tuple[str, ...]
    common_id: str = ""  # the university's ID number, when the provider gives one


def parse_mapping(text: str) -> dict[str, str]:
    """``"a=x, b=y"`` → ``{"a": "x", "b": "y"}``, in order; keys compared case-insensitively.
    Raises ValueError on an entry without ``=``."""
    mapping: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"not value=target: {part!r}")
        mapping[key.strip().casefold()] = value.strip()
    return mapping


def _values(claims: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        value = claims.get(name.strip())
        if isinstance(value, str):
            value = value.split() if name.strip() in ("roles", "groups") else [value]
        if isinstance(value, list | tuple):
            found.extend(str(v) for v in value if isinstance(v, str | int) and str(v))
    return found


def _first(claims: Mapping[str, Any], names: Iterable[str], *, mail: bool = False) -> str:
    for name in names:
        name = name.strip()
        if mail and name == "email" and claims.get("email_verified") is False:
            continue  # the provider says it did not check this address
        value = claims.get(name)
        if isinstance(value, str) and value.strip() and (not mail or "@" in value):
            return value.strip()
    return ""


def stable_key(claims: Mapping[str, Any]) -> str:
    oid, tid = claims.get("oid"), claims.get("tid")
    if isinstance(oid, str) and oid and isinstance(tid, str) and tid:
        return f"{tid.lower()}/{oid.lower()}"
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else ""


def person_from_claims(
    claims: Mapping[str, Any],
    *,
    email_claims: Sequence[str],
    name_claims: Sequence[str],
    group_claims: Sequence[str],
    category_claims: Sequence[str],
    category_map: Mapping[str, str],
    common_id_claims: Sequence[str] = (),
) -> Person:
    values = {v.casefold() for v in _values(claims, category_claims)}
    category = next((target for value, target in category_map.items() if value in values), "")
    return Person(
        issuer=str(claims.get("iss", "")),
        key=stable_key(claims),
        email=_first(claims, email_claims, mail=True).lower(),
        name=_first(claims, name_claims),
        member_category=category,
        groups=tuple(dict.fromkeys(_values(claims, group_claims))),
        common_id=_first(claims, common_id_claims),
    )


def tier_from_groups(groups: Iterable[str], staff_groups: Mapping[str, str]) -> str:
    """The highest tier any of ``groups`` maps to, or "" (no staff tier)."""
    tiers = {staff_groups[g.casefold()] for g in groups if g.casefold() in staff_groups}
    return max(tiers, key=TIER_ORDER.index, default="")


# --- SAML attributes (GakuNin, eduPerson) --------------------------------------------------

# Attribute names as IdPs send them (urn:oid, SAML 2.0 URI name format) → the friendly name
# the desk reads. An attribute is found by its Name (the OID) or its FriendlyName, so an
# IdP that sends only one of them, or another name format, works the same.
SAML_ATTRIBUTE_OIDS = {
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.6": "eduPersonPrincipalName",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.10": "eduPersonTargetedID",
    "urn:oasis:names:tc:SAML:attribute:pairwise-id": "pairwise-id",
    "urn:oasis:names:tc:SAML:attribute:subject-id": "subject-id",
    "urn:oid:0.9.2342.19200300.100.1.3": "mail",
    "urn:oid:2.16.840.1.113730.3.1.241": "displayName",
    "urn:oid:2.5.4.4": "sn",
    "urn:oid:2.5.4.42": "givenName",
    "urn:oid:1.3.6.1.4.1.32264.1.1.1": "jasn",  # GakuNin: family name in Japanese
    "urn:oid:1.3.6.1.4.1.32264.1.1.2": "jaGivenName",
    "urn:oid:1.3.6.1.4.1.32264.1.1.3": "jaDisplayName",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": "eduPersonAffiliation",
    "urn:oid:1.3.6.1.4.1.5923.1.1.1.9": "eduPersonScopedAffiliation",
    "urn:oid:1.3.6.1.4.1.5923.1.5.1.1": "isMemberOf",
}
_FRIENDLY = {name.casefold(): name for name in SAML_ATTRIBUTE_OIDS.values()}


def saml_attributes(raw: Iterable[tuple[str, str, Sequence[str]]]) -> dict[str, list[str]]:
    """(Name, FriendlyName, values) of each attribute → values by the desk's friendly
    name (``mail``, ``isMemberOf``…); an attribute the desk does not know stays under its
    Name. Values of one attribute sent twice are joined."""
    found: dict[str, list[str]] = {}
    for name, friendly, values in raw:
        known = SAML_ATTRIBUTE_OIDS.get(name) or _FRIENDLY.get(name.casefold())
        known = known or _FRIENDLY.get((friendly or "").casefold()) or name
        found.setdefault(known, []).extend(v.strip() for v in values if v and v.strip())
    return found


def _saml_first(attributes: Mapping[str, Sequence[str]], *names: str) -> str:
    for name in names:
        for value in attributes.get(name, ()):
            if value:
                return value
    return ""


def person_from_saml(
    issuer: str,
    attributes: Mapping[str, Sequence[str]],
    *,
    key_attribute: str,
    category_map: Mapping[str, str],
    common_id_attribute: str = "",
) -> Person:
    """The person an assertion (whose signature, audience, recipient and times were
    checked) describes. ``key_attribute`` names the stable key (a friendly name or a
    Name); without it the key is "" and the caller refuses the sign-in.

    The name is the Japanese one when the IdP gives it (jaDisplayName, else jasn and
    jaGivenName, family name first), else displayName, else givenName and sn. Scoped
    affiliations (``faculty@example.ac.jp``) count by the value before the ``@``."""
    key_name = SAML_ATTRIBUTE_OIDS.get(key_attribute) or _FRIENDLY.get(
        key_attribute.casefold(), key_attribute
    )
    ja = " ".join(
        p for p in (_saml_first(attributes, "jasn"), _saml_first(attributes, "jaGivenName")) if p
    )
    latin = " ".join(
        p for p in (_saml_first(attributes, "givenName"), _saml_first(attributes, "sn")) if p
    )
    name = _saml_first(attributes, "jaDisplayName") or ja
    name = name or _saml_first(attributes, "displayName") or latin
    affiliations = [*attributes.get("eduPersonAffiliation", ())]
    affiliations += [v.partition("@")[0] for v in attributes.get("eduPersonScopedAffiliation", ())]
    values = {v.casefold() for v in affiliations}
    category = next((target for value, target in category_map.items() if value in values), "")
    mail = next((m for m in attributes.get("mail", ()) if "@" in m), "")
    return Person(
        issuer=issuer,
        key=_saml_first(attributes, key_name),
        email=mail.lower(),
        name=name,
        member_category=category,
        groups=tuple(dict.fromkeys(attributes.get("isMemberOf", ()))),
        common_id=_saml_first(
            attributes,
            SAML_ATTRIBUTE_OIDS.get(common_id_attribute)
            or _FRIENDLY.get(common_id_attribute.casefold(), common_id_attribute),
        )
        if common_id_attribute
        else "",
    )
