"""The bot's topic rules as administrators edit them (``BotRule`` rows), turned into the
plain data ``madoguchi.bot.rules.RuleSet`` reads.

One regular expression per line; blank lines are skipped and the spaces at both ends of
a line are ignored (write ``\\s`` or ``[ ]`` for a space at an end). While the table is
empty the shipped ``default_rules()`` apply; once it has rows, only the active ones do,
so deactivating every rule really turns the rules off.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from madoguchi.bot import RuleSet

from .models import BotRule


def pattern_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def pattern_errors(text: str) -> list[str]:
    """One message per line that does not compile the way the engine compiles it."""
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        pattern = line.strip()
        if not pattern:
            continue
        try:
            RuleSet(
                [
                    {
                        "name": "check",
                        "patterns": {"ja": [pattern]},
                        "message_ja": "",
                        "message_en": "",
                    }
                ]
            )
        except ValueError as exc:
            reason = exc.__cause__ or exc
            errors.append(
                _("Line %(number)d (“%(pattern)s”) is not a valid regular expression: %(reason)s")
                % {"number": number, "pattern": pattern[:80], "reason": reason}
            )
    return errors


def rule_data(rule: BotRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "patterns": {"ja": pattern_lines(rule.patterns_ja), "en": pattern_lines(rule.patterns_en)},
        "exclude": {"ja": pattern_lines(rule.exclude_ja), "en": pattern_lines(rule.exclude_en)},
        "message_ja": rule.message_ja,
        "message_en": rule.message_en,
        "link": rule.link,
    }


def rules_from_database() -> list[dict[str, Any]] | None:
    """The active rules in order, or None while the table is empty (use the defaults)."""
    rows = list(BotRule.objects.order_by("order", "name"))
    if not rows:
        return None
    return [rule_data(r) for r in rows if r.active]
