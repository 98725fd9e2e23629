"""OpenID Connect sign-in for staff and requesters (docs/sso.md, docs/design.md note 57).

``oidc`` is the protocol (discovery, the authorization request, the code exchange, the ID
token's checks), ``claims`` turns verified claims into a person (pure), ``actions`` signs
staff in (users and their external identities), ``views`` is the transport.
"""
