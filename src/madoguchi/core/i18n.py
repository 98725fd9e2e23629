"""The desk's two languages, in one place."""

from __future__ import annotations

from django.utils.translation import get_language

LANG_CHOICES = [("ja", "日本語"), ("en", "English")]


def desk_lang(code: str | None = None) -> str:
    """ "en" or "ja" for a language code (the active one when none is given)."""
    code = code if code is not None else (get_language() or "ja")
    return "en" if code.startswith("en") else "ja"
