"""The OpenID Connect and SAML settings, each as one checked value (settings.py reads the environment;
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
    common_id_claims: tuple[str, ...] = ()
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


def _mappings(prefix: str, categories: str, groups: str) -> tuple[dict[str, str], dict[str, str]]:
    """The claim-value → member category and group → tier mappings of one protocol,
    checked (``prefix``: the settings' name, for the message)."""
    try:
        category_map = parse_mapping(categories)
        staff_groups = parse_mapping(groups)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{prefix}_CATEGORY_MAP/STAFF_GROUPS: {exc}") from None
    bad = set(category_map.values()) - set(MemberCategory.values)
    if bad:
        raise ImproperlyConfigured(
            f"{prefix}_CATEGORY_MAP: no such member category {sorted(bad)};"
            f" use {', '.join(MemberCategory.values)}"
        )
    tiers = {v.lower() for v in staff_groups.values()}
    if tiers - {Tier.STUDENT, Tier.FACULTY}:
        raise ImproperlyConfigured(
            f"{prefix}_STAFF_GROUPS: a tier is 'student' or 'faculty', not "
            f"{sorted(tiers - {Tier.STUDENT, Tier.FACULTY})}"
        )
    return category_map, staff_groups


def current() -> OidcConfig:
    """Read per call (cheap), so tests can change settings; raises ImproperlyConfigured."""
    category_map, staff_groups = _mappings(
        "MADOGUCHI_OIDC",
        settings.OIDC_CATEGORY_MAP or DEFAULT_CATEGORY_MAP,
        settings.OIDC_STAFF_GROUPS,
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
        common_id_claims=_names(settings.OIDC_COMMON_ID_CLAIMS),
        category_map=category_map,
        staff_groups={k: v.lower() for k, v in staff_groups.items()},
        clock_skew=settings.OIDC_CLOCK_SKEW_SECONDS,
        timeout=settings.OIDC_HTTP_TIMEOUT_SECONDS,
    )


# --- SAML 2.0 ----------------------------------------------------------------------------

MAX_SAML_CLOCK_SKEW = 180


@dataclass(frozen=True)
class SamlConfig:
    idp_entity_id: str
    metadata_url: str
    metadata_file: str
    metadata_cert_file: str
    sp_key_file: str
    sp_cert_file: str
    name: str
    key_attribute: str
    category_map: dict[str, str] = field(default_factory=dict)
    common_id_attribute: str = ""
    staff_groups: dict[str, str] = field(default_factory=dict)
    clock_skew: int = 120
    allow_unsolicited: bool = False
    timeout: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.idp_entity_id and (self.metadata_url or self.metadata_file))

    @property
    def entity_id(self) -> str:
        """Our entity id: the metadata's own URL, from SITE_URL (never the Host header)."""
        return settings.SITE_URL + "/sso/saml/metadata/"

    @property
    def acs_url(self) -> str:
        return settings.SITE_URL + "/sso/saml/acs/"


def saml() -> SamlConfig:
    """Read per call, like ``current``; raises ImproperlyConfigured for a half-done set-up
    (a metadata URL without the certificate that signs it, no key pair)."""
    category_map, staff_groups = _mappings(
        "MADOGUCHI_SAML",
        settings.SAML_CATEGORY_MAP or settings.OIDC_CATEGORY_MAP or DEFAULT_CATEGORY_MAP,
        settings.SAML_STAFF_GROUPS,
    )
    c = SamlConfig(
        idp_entity_id=settings.SAML_IDP_ENTITY_ID,
        metadata_url=settings.SAML_IDP_METADATA_URL,
        metadata_file=settings.SAML_IDP_METADATA_FILE,
        metadata_cert_file=settings.SAML_IDP_CERT_FILE,
        sp_key_file=settings.SAML_SP_KEY_FILE,
        sp_cert_file=settings.SAML_SP_CERT_FILE,
        name=settings.SAML_NAME,
        key_attribute=settings.SAML_KEY_ATTRIBUTE or "eduPersonPrincipalName",
        common_id_attribute=settings.SAML_COMMON_ID_ATTRIBUTE,
        category_map=category_map,
        staff_groups={k: v.lower() for k, v in staff_groups.items()},
        clock_skew=min(MAX_SAML_CLOCK_SKEW, max(0, settings.SAML_CLOCK_SKEW_SECONDS)),
        allow_unsolicited=settings.SAML_ALLOW_UNSOLICITED,
        timeout=settings.SAML_HTTP_TIMEOUT_SECONDS,
    )
    if c.metadata_url and c.metadata_file:
        raise ImproperlyConfigured(
            "MADOGUCHI_SAML_IDP_METADATA_URL and MADOGUCHI_SAML_IDP_METADATA_FILE: set one"
        )
    if (c.metadata_url or c.metadata_file) and not c.idp_entity_id:
        raise ImproperlyConfigured(
            "MADOGUCHI_SAML_IDP_ENTITY_ID: which identity provider of the metadata signs people in"
        )
    if c.enabled:
        if c.metadata_url and not c.metadata_cert_file:
            raise ImproperlyConfigured(
                "MADOGUCHI_SAML_IDP_METADATA_URL needs MADOGUCHI_SAML_IDP_CERT_FILE (the"
                " certificate that signs the metadata): metadata fetched over the network"
                " is accepted only signed"
            )
        if not (c.sp_key_file and c.sp_cert_file):
            raise ImproperlyConfigured(
                "SAML sign-in needs the desk's key pair: MADOGUCHI_SAML_SP_KEY_FILE and"
                " MADOGUCHI_SAML_SP_CERT_FILE"
            )
    return c
