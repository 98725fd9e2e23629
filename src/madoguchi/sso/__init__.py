"""Sign-in through an identity provider for staff and requesters: OpenID Connect and SAML
2.0 (docs/sso.md, docs/design.md notes 57 and 69).

``oidc`` and ``saml`` are the protocols (no Django), ``claims`` turns verified claims or
SAML attributes into a person (pure), ``actions`` signs staff in (users and their external
identities) and remembers accepted assertions, ``views`` is the transport.
"""
