"""Who may use which channel (see models.Entitlement)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import EntitledChannel, Entitlement

ALL_CHANNELS = tuple(EntitledChannel.values)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    note: str = ""


def check(audience: str | None, channel: str, lang: str = "ja") -> Verdict:
    if not audience:
        return Verdict(True)
    row = Entitlement.objects.filter(audience=audience).first()
    if row is None or channel in row.channels:
        return Verdict(True)
    return Verdict(False, row.note(lang))


def channels_for(audience: str | None, lang: str = "ja") -> dict[str, Verdict]:
    return {channel: check(audience, channel, lang) for channel in ALL_CHANNELS}
