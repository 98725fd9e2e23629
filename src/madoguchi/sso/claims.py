"""From verified ID token claims to the person the desk knows: pure, no Django.

The stable key is what never changes for one person at one identity provider: Entra ID's
``oid`` within its tenant (``tid``), else ``sub`` (unique within the issuer, OIDC Core
§2). Mail and name are only looked at, never used to find the person again.
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
    )


def tier_from_groups(groups: Iterable[str], staff_groups: Mapping[str, str]) -> str:
    """The highest tier any of ``groups`` maps to, or "" (no staff tier)."""
    tiers = {staff_groups[g.casefold()] for g in groups if g.casefold() in staff_groups}
    return max(tiers, key=TIER_ORDER.index, default="")
