"""Recording audit events. Called by actions inside their transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from madoguchi.accounts.roles import is_desk_staff

from .models import AuditEvent

if TYPE_CHECKING:
    from madoguchi.inquiries.models import Inquiry


def record(
    verb: str, *, actor: Any = None, inquiry: Inquiry | None = None, **data: Any
) -> AuditEvent:
    if actor is not None and getattr(actor, "is_authenticated", False):
        kind = "staff" if is_desk_staff(actor) else "user"
        user = actor
    else:
        kind = str(data.pop("actor_kind", "system"))
        user = None
    return AuditEvent.objects.create(
        actor=user,
        actor_kind=kind,
        verb=verb,
        inquiry=inquiry,
        data=data,
        restricted=inquiry is not None and inquiry.is_restricted,
    )
