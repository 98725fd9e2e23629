"""Every rule the redactor names has a translated label on the review page."""

from __future__ import annotations

import ast
import pathlib

from madoguchi.cases import redaction
from madoguchi.cases.labels import KIND_LABELS, RULE_LABELS

SOURCE = pathlib.Path(redaction.__file__)


def _rules() -> set[str]:
    """The fourth argument of every ``_Candidate(...)``: the rule's name."""
    found = set()
    for node in ast.walk(ast.parse(SOURCE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_Candidate":
            if len(node.args) >= 4 and isinstance(node.args[3], ast.Constant):
                found.add(node.args[3].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_names":
            if len(node.args) >= 4 and isinstance(node.args[3], ast.Constant):
                found.add(node.args[3].value)
    return found


def test_every_rule_and_kind_has_a_label():
    rules = _rules()
    assert len(rules) > 20
    rules.discard("host")  # a protected span (redaction.KEEP), never shown
    assert rules <= set(RULE_LABELS), rules - set(RULE_LABELS)
    assert set(redaction.KINDS) <= set(KIND_LABELS)
