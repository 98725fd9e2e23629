"""Authentication-Results (RFC 8601): did the sender's domain vouch for this mail?

Pure (no Django). Anyone can write an Authentication-Results header into a mail they send,
so only the ones our own receiving MTA added count: those whose authserv-id is ours, or,
when we do not know our id, the topmost one (an MTA prepends its header, so the topmost
is the last hop's, i.e. ours). Comments are removed first: ``spf=pass (dmarc=fail)``
says only ``spf=pass``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_HEADER_CHARS = 8192

_METHOD = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s*(?:/\s*\d+\s*)?=\s*([A-Za-z0-9_-]+)")
_SPF_FAILURES = {"fail", "softfail"}


@dataclass(frozen=True)
class AuthResults:
    """One Authentication-Results header: who wrote it and what it found."""

    authserv_id: str
    results: tuple[tuple[str, str], ...]  # (method, result), lower-case, in order


@dataclass(frozen=True)
class SenderVerdict:
    checked: bool  # a trusted header was there at all
    failures: tuple[str, ...]  # e.g. ("dmarc=fail", "spf=softfail")

    @property
    def unverified(self) -> bool:
        return bool(self.failures)


def _strip_comments(value: str) -> str:
    """The value with (nested) comments replaced by a space; quoted strings kept."""
    out: list[str] = []
    depth = 0
    quoted = False
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and (quoted or depth):
            if not depth:
                out.append(value[i : i + 2])
            i += 2
            continue
        if quoted:
            out.append(c)
            quoted = c != '"'
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
            if not depth:
                out.append(" ")
        elif not depth:
            out.append(c)
            quoted = c == '"'
        i += 1
    return "".join(out)


def _split(value: str) -> list[str]:
    """Split on ";" outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif c == "\\" and quoted:
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    parts.append("".join(current))
    return parts


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header value; None when it has no authserv-id (not a usable header)."""
    text = _strip_comments(re.sub(r"\r?\n[ \t]+", " ", value[:MAX_HEADER_CHARS]))
    first, *resinfos = _split(text)
    words = first.split()
    if not words:
        return None
    authserv_id = words[0].strip('"').lower()
    results = []
    for part in resinfos:
        match = _METHOD.match(part)
        if match is not None:
            results.append((match.group(1).lower(), match.group(2).lower()))
    return AuthResults(authserv_id, tuple(results))


def trusted_results(values: Sequence[str], authserv_ids: Iterable[str] = ()) -> list[AuthResults]:
    """The headers to believe, from header values in the order they appear (top first)."""
    ids = {i.strip().lower() for i in authserv_ids if i.strip()}
    parsed = [p for p in (parse_authentication_results(v) for v in values) if p is not None]
    if ids:
        return [p for p in parsed if p.authserv_id in ids]
    return parsed[:1]


def sender_verdict(values: Sequence[str], authserv_ids: Iterable[str] = ()) -> SenderVerdict:
    """Whether the trusted headers say the sender is not who the From says.

    DMARC decides when it was evaluated: ``dmarc=fail`` is a failure, ``dmarc=pass`` clears
    failed SPF or DKIM (a forwarder breaks SPF; one good aligned signature is enough).
    Without a DMARC result, ``spf=fail``/``softfail`` is a failure, and so is ``dkim=fail``
    unless another signature passed.
    """
    trusted = trusted_results(values, authserv_ids)
    found: dict[str, set[str]] = {}
    for header in trusted:
        for method, result in header.results:
            found.setdefault(method, set()).add(result)
    dmarc, spf, dkim = found.get("dmarc", set()), found.get("spf", set()), found.get("dkim", set())
    failures: list[str] = []
    if "fail" in dmarc:
        failures.append("dmarc=fail")
    if "pass" not in dmarc:
        failures.extend(f"spf={r}" for r in sorted(spf & _SPF_FAILURES))
        if "fail" in dkim and "pass" not in dkim:
            failures.append("dkim=fail")
    return SenderVerdict(bool(trusted), tuple(failures))
