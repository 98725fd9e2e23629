"""Every audit verb the code records has a translated label: the history and the audit
log never show a raw slug (``call.admitted``) to staff."""

from __future__ import annotations

import ast
import pathlib

from madoguchi.privacy.labels import VERB_LABELS

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "madoguchi"


def _constants(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def recorded_verbs() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            values = []
            if name == "record" and node.args:
                values += _constants(node.args[0])
            values += [v for k in node.keywords if k.arg == "verb" for v in _constants(k.value)]
            for verb in values:
                found.setdefault(verb, str(path.relative_to(SRC)))
    return found


def test_the_scan_finds_the_verbs_it_should() -> None:
    verbs = recorded_verbs()
    # Both branches of a conditional verb, and a verb passed as verb=.
    assert {"call.screenshot_allowed", "call.screenshot_denied", "call.requested"} <= set(verbs)


def test_every_recorded_verb_has_a_label() -> None:
    missing = {verb: where for verb, where in recorded_verbs().items() if verb not in VERB_LABELS}
    assert not missing, f"audit verbs without a label in privacy/labels.py: {missing}"
