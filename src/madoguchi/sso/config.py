"""The OpenID Connect settings as one checked value (settings.py reads the environment;
this parses the mappings and checks them against the desk's categories and tiers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from madoguchi.accounts.models import Tier
from madoguchi.inquiries.models import MemberCategory

from .claims import parse_mapping

# eduPersonAffiliation values (GakuNin, Keycloak's mappers, Google's custom attributes),
# in order of preference: a person who is both staff and student is filed as staff.
DEFAULT_CATEGORY_MAP = (
    "faculty=faculty_fulltime, staff=staff, employee=staff, student=student_current,"
    " affiliate=other"
)


@dataclass(frozen=True)
class OidcConfig:
    discovery_url: str
    client_id: str
    client_secret: str
    name: str
    scopes: tuple[str, ...]
    tenants: tuple[str, ...]
    email_claims: tuple[str, ...]
    name_claims: tuple[str, ...]
    group_claims: tuple[str, ...]
    category_claims: tuple[str, ...]
    category_map: dict[str, str] = field(default_factory=dict)
    staff_groups: dict[str, str] = field(default_factory=dict)
    clock_skew: int = 120
    timeout: int = 10

    @property
    def enabled(self) -> bool:
        return bool(self.discovery_url and self.client_id)

    @property
    def public_client(self) -> bool:
        return not self.client_secret


def _names(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())


def current() -> OidcConfig:
    """Read per call (cheap), so tests can change settings; raises ImproperlyConfigured."""
    try:
        category_map = parse_mapping(settings.OIDC_CATEGORY_MAP or DEFAULT_CATEGORY_MAP)
        staff_groups = parse_mapping(settings.OIDC_STAFF_GROUPS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"MADOGUCHI_OIDC_CATEGORY_MAP/STAFF_GROUPS: {exc}") from None
    bad = set(category_map.values()) - set(MemberCategory.values)
    if bad:
        raise ImproperlyConfigured(
            f"MADOGUCHI_OIDC_CATEGORY_MAP: no such member category {sorted(bad)};"
            f" use {', '.join(MemberCategory.values)}"
        )
    tiers = {v.lower() for v in staff_groups.values()}
    if tiers - {Tier.STUDENT, Tier.FACULTY}:
        raise ImproperlyConfigured(
            "MADOGUCHI_OIDC_STAFF_GROUPS: a tier is 'student' or 'faculty', not "
            f"{sorted(tiers - {Tier.STUDENT, Tier.FACULTY})}"
        )
    return OidcConfig(
        discovery_url=settings.OIDC_DISCOVERY_URL,
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        name=settings.OIDC_NAME,
        scopes=tuple(settings.OIDC_SCOPES) or ("openid",),
        tenants=tuple(settings.OIDC_TENANTS),
        email_claims=_names(settings.OIDC_EMAIL_CLAIMS),
        name_claims=_names(settings.OIDC_NAME_CLAIMS),
        group_claims=_names(settings.OIDC_GROUP_CLAIMS),
        category_claims=_names(settings.OIDC_CATEGORY_CLAIMS),
        category_map=category_map,
        staff_groups={k: v.lower() for k, v in staff_groups.items()},
        clock_skew=settings.OIDC_CLOCK_SKEW_SECONDS,
        timeout=settings.OIDC_HTTP_TIMEOUT_SECONDS,
    )
