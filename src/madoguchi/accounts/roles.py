"""Who someone is, as far as the desk cares. The access rules build on this."""

from __future__ import annotations

from typing import Any

REQUESTER = "requester"
STUDENT = "student"
FACULTY = "faculty"
ADMIN = "admin"


def role_of(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return REQUESTER
    if user.is_superuser:
        return ADMIN
    if user.tier == FACULTY:
        return FACULTY
    if user.tier == STUDENT:
        return STUDENT
    return REQUESTER


def is_desk_staff(user: Any) -> bool:
    return role_of(user) in {STUDENT, FACULTY, ADMIN}


def sees_restricted(user: Any) -> bool:
    """Faculty staff and administrators see the sensitive and triage lanes."""
    return role_of(user) in {FACULTY, ADMIN}
