"""Charset decoding for mail: labels as mailers really use them, never an exception.

Rules (in this order):

- A label is mapped to the codec that mailers actually mean: ``Shift_JIS`` and friends are
  CP932 (Windows-31J: NEC/IBM extensions such as ①, ㈱, 髙), ``ISO-2022-JP`` is decoded by
  our own decoder (JIS X 0208 via CP932, so the Microsoft extensions of CP5022x work too;
  half-width katakana via ``ESC ( I`` and SO/SI; every line starts in ASCII, so a missing
  return-to-ASCII escape damages one line at most), ``us-ascii`` is read as UTF-8,
  ``iso-8859-1`` as windows-1252, ``gb2312`` as GB18030, ``ks_c_5601-1987`` as CP949.
- The declared codec is tried strictly; if it fails, UTF-8, CP932 and EUC-JP are tried
  strictly and the most plausible success wins; if none succeeds, the declared codec (or
  UTF-8) decodes with replacement characters, and an unknown label falls back to latin-1.
- UTF-7 is decoded only when the caller allows it (never for HTML).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "s-jis": "cp932",
    "shiftjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cswindows31j": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "x-ms-cp932": "cp932",
    "shift_jisx0213": "shift_jisx0213",
    "shift_jis-2004": "shift_jis_2004",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "eucjp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "cp51932": "euc_jp",
    "euc-jis-2004": "euc_jis_2004",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "us": "utf-8",
    "7bit": "utf-8",
    "8bit": "utf-8",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "big5": "cp950",
    "x-big5": "cp950",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
}

_ISO2022JP_LABELS = frozenset(
    {
        "iso-2022-jp",
        "iso2022-jp",
        "iso2022jp",
        "iso-2022-jp-1",
        "iso-2022-jp-2",
        "iso-2022-jp-3",
        "iso-2022-jp-2004",
        "iso-2022-jp-ms",
        "csiso2022jp",
        "cp50220",
        "cp50221",
        "cp50222",
        "jis",
        "jis_encoding",
        "x-jis",
    }
)

_UTF7_LABELS = frozenset({"utf-7", "utf7", "unicode-1-1-utf-7", "x-unicode-1-1-utf-7"})

# Codecs that turn bytes into something other than text or that we never want to run.
_FORBIDDEN = frozenset(
    {
        "utf_7",
        "base64_codec",
        "bz2_codec",
        "hex_codec",
        "quopri_codec",
        "rot_13",
        "uu_codec",
        "zlib_codec",
        "punycode",
        "idna",
        "raw_unicode_escape",
        "unicode_escape",
        "undefined",
        "mbcs",
        "oem",
    }
)


def _normalise_label(label: str | None) -> str:
    if not label:
        return ""
    label = label.strip().strip("\"'").strip().lower()
    # RFC 2231 language suffix ("utf-8*ja") and garbage after it.
    label = label.split("*", 1)[0]
    return label[:64]


def resolve_codec(label: str | None) -> str | None:
    """The Python codec name for a mail charset label, "iso-2022-jp" for our own
    decoder, "utf-7" for UTF-7, or None when the label is unknown or unusable."""
    norm = _normalise_label(label)
    if not norm:
        return None
    if norm in _ISO2022JP_LABELS or norm.startswith("iso-2022-jp"):
        return "iso-2022-jp"
    if norm in _UTF7_LABELS:
        return "utf-7"
    if norm in _ALIASES:
        return _ALIASES[norm]
    try:
        info = codecs.lookup(norm)
    except (LookupError, ValueError, TypeError):
        return None
    name = info.name
    if name in _FORBIDDEN or "codec" in name:
        return None
    if name in {
        "iso2022_jp",
        "iso2022_jp_1",
        "iso2022_jp_2",
        "iso2022_jp_3",
        "iso2022_jp_ext",
        "iso2022_jp_2004",
    }:
        return "iso-2022-jp"
    if name == "latin_1":
        return "cp1252"
    if name == "shift_jis":
        return "cp932"
    if name == "ascii":
        return "utf-8"
    return name


# --- ISO-2022-JP -----------------------------------------------------------------------

_ESC = 0x1B


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _decode_2022_line(line: bytes, out: list[str]) -> int:
    """Decode one line (no line break inside). Returns the number of undecodable units."""
    mode = "ascii"  # every line starts in ASCII (RFC 1468 requires it at line end)
    errors = 0
    i = 0
    n = len(line)
    ascii_start = 0
    buf = bytearray()  # pending two-byte or kana data for the current mode

    def flush() -> None:
        nonlocal errors
        if not buf:
            return
        if mode == "x0208":
            data = bytes(buf)
            sj = bytearray()
            for k in range(0, len(data) - 1, 2):
                a, b = data[k], data[k + 1]
                if 0x21 <= a <= 0x7E and 0x21 <= b <= 0x7E:
                    sj += _jis_to_sjis(a, b)
                else:
                    sj += b"\x81\x48"  # "？" stands in for garbage
                    errors += 1
            if len(data) % 2:
                errors += 1
            text = bytes(sj).decode("cp932", errors="replace")
            errors += text.count("\ufffd")
            out.append(text)
        elif mode == "x0212":
            data = bytes(buf)
            pieces = []
            for k in range(0, len(data) - 1, 2):
                try:
                    pieces.append(
                        bytes((0x8F, data[k] | 0x80, data[k + 1] | 0x80)).decode("euc_jp")
                    )
                except UnicodeDecodeError:
                    pieces.append("\ufffd")
                    errors += 1
            out.append("".join(pieces))
        elif mode == "x0213":
            data = bytes(buf)
            try:
                out.append((b"\x1b$(Q" + data + b"\x1b(B").decode("iso2022_jp_2004"))
            except UnicodeDecodeError:
                out.append("\ufffd" * (len(data) // 2 or 1))
                errors += 1
        elif mode == "kana":
            out.append(
                bytes((b | 0x80) if 0x21 <= b <= 0x5F else 0x3F for b in buf).decode(
                    "cp932", errors="replace"
                )
            )
        buf.clear()

    while i < n:
        b = line[i]
        if b == _ESC:
            seq = line[i + 1 : i + 4]
            new_mode = None
            length = 0
            if seq[:2] in (b"(B", b"(J", b"(H"):
                new_mode, length = "ascii", 3
            elif seq[:2] == b"(I":
                new_mode, length = "kana", 3
            elif seq[:2] in (b"$B", b"$@"):
                new_mode, length = "x0208", 3
            elif seq[:3] == b"$(D":
                new_mode, length = "x0212", 4
            elif seq[:3] in (b"$(Q", b"$(O", b"$(P"):
                new_mode, length = "x0213", 4
            elif seq[:3] == b"$(B":
                new_mode, length = "x0208", 4
            elif seq[:2] == b".A" or seq[:2] == b".F":
                length = 3  # ISO-2022-JP-2 G2 designations: ignore
            if length:
                if mode == "ascii":
                    out.append(line[ascii_start:i].decode("latin-1"))
                else:
                    flush()
                if new_mode:
                    mode = new_mode
                i += length
                ascii_start = i
                continue
            # Unknown escape: drop the ESC itself (never emit raw escapes).
            if mode == "ascii":
                out.append(line[ascii_start:i].decode("latin-1"))
            else:
                flush()
            errors += 1
            i += 1
            ascii_start = i
            continue
        if b == 0x0E:  # SO: half-width katakana (CP50221)
            if mode == "ascii":
                out.append(line[ascii_start:i].decode("latin-1"))
            else:
                flush()
            mode = "kana"
            i += 1
            continue
        if b == 0x0F:  # SI: back to ASCII
            if mode != "ascii":
                flush()
            mode = "ascii"
            i += 1
            ascii_start = i
            continue
        if mode == "ascii":
            if b >= 0x80:
                # 8-bit data inside ISO-2022-JP: not ours to interpret byte by byte.
                out.append(line[ascii_start:i].decode("latin-1"))
                j = i
                while j < n and line[j] >= 0x80:
                    j += 1
                chunk = line[i:j]
                try:
                    out.append(chunk.decode("utf-8"))
                except UnicodeDecodeError:
                    out.append(chunk.decode("cp932", errors="replace"))
                    errors += 1
                i = j
                ascii_start = i
                continue
            i += 1
            continue
        if b < 0x21 or b > 0x7E:
            # Space/control inside a two-byte run: flush and pass it through.
            flush()
            out.append(chr(b) if b < 0x80 else "\ufffd")
            i += 1
            continue
        buf.append(b)
        i += 1
    if mode == "ascii":
        out.append(line[ascii_start:n].decode("latin-1"))
    else:
        flush()
    return errors


def decode_iso2022jp(data: bytes) -> tuple[str, int]:
    """Tolerant ISO-2022-JP (+ CP5022x extensions) decoder: (text, error count)."""
    out: list[str] = []
    errors = 0
    start = 0
    n = len(data)
    while start <= n:
        end = data.find(b"\n", start)
        if end < 0:
            end = n
        errors += _decode_2022_line(data[start:end], out)
        if end < n:
            out.append("\n")
        start = end + 1
    return "".join(out), errors


# --- generic ---------------------------------------------------------------------------


def _implausibility(text: str) -> int:
    """A rough score of how unlikely a decoding is as human text (lower is better)."""
    score = 0
    for ch in text[:65536]:
        o = ord(ch)
        if o < 0x80:
            continue
        if 0xFF61 <= o <= 0xFF9F:  # half-width katakana: rare in real text, common in mis-decodes
            score += 2
        elif 0xE000 <= o <= 0xF8FF:  # private use
            score += 3
        elif 0x80 <= o <= 0x9F:
            score += 3
        elif unicodedata.category(ch) in ("Cn", "Co"):
            score += 3
    return score


def _try(data: bytes, codec: str) -> str | None:
    try:
        if codec == "iso-2022-jp":
            text, errs = decode_iso2022jp(data)
            return None if errs else text
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError, TypeError):
        return None


def _utf8_mostly(data: bytes) -> str | None:
    """UTF-8 with replacement if only a few bytes are invalid."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    high = sum(1 for ch in text if ord(ch) >= 0x80 and ch != "\ufffd")
    if bad <= 16 and high >= bad * 4:
        return text
    return None


_UTF8_SEQ = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _utf8_valid_sequences(data: bytes) -> bool:
    return _UTF8_SEQ.search(data) is not None


def guess_decode(data: bytes, *, last_resort: str = "latin-1") -> str:
    """Decode bytes of unknown charset: UTF-8, then the most plausible of CP932/EUC-JP,
    then UTF-8 with replacement characters if it has any valid multi-byte sequence, then
    ``last_resort`` (latin-1 for bodies; "utf-8" (with replacement) for headers, where
    8-bit data is meant to be UTF-8). Never raises."""
    if not data:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text: str | None
    if b"\x1b$" in data or b"\x1b(" in data:
        text, errs = decode_iso2022jp(data)
        if not errs:
            return text
    mostly = _utf8_mostly(data)
    if mostly is not None:
        return mostly
    candidates = []
    for order, codec in enumerate(("cp932", "euc_jp")):
        text = _try(data, codec)
        if text is not None:
            non_ascii = sum(1 for ch in text[:65536] if ord(ch) >= 0x80)
            score = _implausibility(text)
            # Plausible: mostly ordinary characters (a lone high byte read as a
            # half-width kana is garbage, not Japanese).
            if score <= non_ascii // 2:
                candidates.append((score, order, text))
    if candidates:
        candidates.sort(key=lambda c: (c[0], c[1]))
        return candidates[0][2]
    if _utf8_valid_sequences(data) or last_resort == "utf-8":
        return data.decode("utf-8", errors="replace")
    return data.decode("latin-1")


def decode_bytes(data: bytes, label: str | None, *, allow_utf7: bool = True) -> str:
    """Decode body or header bytes labelled ``label``. Never raises."""
    if not data:
        return ""
    codec = resolve_codec(label)
    if codec == "utf-7":
        if not allow_utf7:
            # Read UTF-7 as plain ASCII: "+ADw-script+AD4-" stays literal text.
            return guess_decode(data)
        text = _try(data, "utf-7")
        return text if text is not None else guess_decode(data)
    if codec is None:
        return guess_decode(data)
    text = _try(data, codec)
    if text is not None:
        if codec in ("cp932", "euc_jp") and _implausibility(text) > 8:
            # A wrong Japanese label: see whether the other one reads better.
            alt = _try(data, "utf-8")
            if alt is not None:
                return alt
        return text
    if codec == "iso-2022-jp":
        # Real ISO-2022-JP mail with some damage still reads best with our decoder,
        # unless it is actually 8-bit text with a wrong label.
        if not any(b >= 0x80 for b in data[:4096]):
            return decode_iso2022jp(data)[0]
        return guess_decode(data)
    if codec == "utf-8":
        mostly = _utf8_mostly(data)
        if mostly is not None:
            return mostly
    for alt_codec in ("utf-8", "cp932", "euc_jp"):
        if alt_codec == codec:
            continue
        alt = _try(data, alt_codec)
        if alt is not None and _implausibility(alt) <= 8:
            return alt
    try:
        return data.decode(codec, errors="replace")
    except (LookupError, ValueError, TypeError):
        return data.decode("utf-8", errors="replace")
