"""Password reset for local accounts.

The mail's link is built from ``SITE_URL``, never from the request (a forged ``Host``
header cannot send a staff member a link to someone else's site), with Django's default
token generator: it names the account and a hash of its password, last sign-in and the
time, so it works once (the password it was made for is gone after use) and lapses after
``PASSWORD_RESET_TIMEOUT``. The answer to a request is the same whether or not the
address is an account's; only active accounts with a usable password get a mail.
Changing the password ends every other session of the account (Django's session hash,
checked on every request and at every WebSocket connect), and two-factor sign-in stays
as it was: a reset password does not get past the second step."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from madoguchi.core.ratelimit import hit, parse_rate
from madoguchi.mail.outbox import header_safe, queue_mail, render
from madoguchi.privacy import audit
from madoguchi.web.throttle import normalise_username

log = logging.getLogger(__name__)


class TooManyRequests(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _users_for(email: str) -> list[Any]:
    User = get_user_model()
    return [
        user
        for user in User._default_manager.filter(email__iexact=email, is_active=True)
        if user.has_usable_password() and user.email.casefold() == email.casefold()
    ]


def reset_link(user: Any) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def request_reset(email: str, client: str) -> int:
    """Queue a reset mail to each account with this address; returns how many (the
    caller must not tell). Raises ``TooManyRequests`` when the client is over its limit."""
    if not hit("password-reset-client", client, settings.PASSWORD_RESET_PER_CLIENT):
        raise TooManyRequests(parse_rate(settings.PASSWORD_RESET_PER_CLIENT)[1])
    address = normalise_username(email)
    if not hit("password-reset-address", address, settings.PASSWORD_RESET_PER_ADDRESS):
        log.info("password reset for %s not sent: limit per address", header_safe(email, 254))
        return 0
    queued = 0
    with transaction.atomic():
        for user in _users_for(email):
            lang = user.preferred_language or "ja"
            subject, body = render(
                "password_reset",
                lang,
                {
                    "name": str(user),
                    "username": user.get_username(),
                    "link": reset_link(user),
                    "minutes": str(settings.PASSWORD_RESET_TIMEOUT // 60),
                },
            )
            if queue_mail(kind="password_reset", to=user.email, subject=subject, body=body):
                queued += 1
    return queued


def after_reset(user: Any) -> None:
    audit.record("auth.password_reset", actor_kind="user", user=user.get_username())
