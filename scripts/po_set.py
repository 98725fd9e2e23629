#!/usr/bin/env python3
"""Set translations in the Japanese catalog and clear their fuzzy flags.

    scripts/po_set.py translations.json      # [[msgctxt or null, msgid, msgstr], ...]

Then run scripts/i18n to compile. Used when many new strings land at once."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parents[1] / "src/madoguchi/locale/ja/LC_MESSAGES/django.po"


def _field(lines: list[str], name: str) -> str | None:
    out, grab = [], False
    for line in lines:
        if line.startswith(name + " "):
            grab = True
            out.append(line[len(name) + 2 : -1])
            continue
        if grab and line.startswith('"'):
            out.append(line[1:-1])
            continue
        if grab:
            break
    return "".join(out).replace('\\"', '"') if grab else None


def main() -> int:
    table = {(c, i): s for c, i, s in json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))}
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    done = 0
    for n, block in enumerate(blocks):
        lines = block.split("\n")
        if n == 0:
            blocks[0] = "\n".join(line for line in lines if line != "#, fuzzy")
            continue
        key = (_field(lines, "msgctxt"), _field(lines, "msgid"))
        if key not in table:
            continue
        plural = _field(lines, "msgid_plural") is not None
        keep, skipping = [], False
        for line in lines:
            if line.startswith("#|") or line == "#, fuzzy":
                continue
            line = re.sub(r"^#, fuzzy, ", "#, ", line)
            if line.startswith("msgstr"):
                skipping = True
                continue
            if skipping and line.startswith('"'):
                continue
            skipping = False
            keep.append(line)
        value = table[key].replace("\\", "\\\\").replace('"', '\\"')
        keep.append(f'msgstr[0] "{value}"' if plural else f'msgstr "{value}"')
        blocks[n] = "\n".join(keep)
        done += 1
    PO.write_text("\n\n".join(blocks), encoding="utf-8")
    print(f"{done} of {len(table)} entries set")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
