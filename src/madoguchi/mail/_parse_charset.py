"""Charset decoding for mail: labels as mailers really use them, never an exception.

Rules (in this order):

- A label is mapped to the codec that mailers actually mean: ``Shift_JIS`` and friends are
  CP932 (Windows-31J: NEC/IBM extensions such as ①, ㈱, 髙), ``ISO-2022-JP`` is decoded by
  our own decoder (JIS X 0208 via CP932, so the Microsoft extensions of CP5022x work too;
  half-width katakana via ``ESC ( I`` and SO/SI; every line starts in ASCII, so a missing
  return-to-ASCII escape damages one line at most), ``us-ascii`` is read as UTF-8,
  ``iso-8859-1`` as windows-1252, ``gb2312`` as GB18030, ``ks_c_5601-1987`` as CP949.
- The declared codec is tried strictly. It is overruled when it is probably a wrong
  label (``_mislabelled``: a single-byte label on valid UTF-8 or on Japanese with kana).
  If it fails, or there is no usable label, ``guess_explained`` decides: UTF-8,
  ISO-2022-JP, Japanese with kana, then charset-normalizer (``detect``) among the legacy
  charsets mail arrives in (GBK/GB18030, Big5, EUC-KR, the Windows code pages), then
  Japanese without kana; failing all, replacement characters (or latin-1).
- Every choice can be explained: ``decode_bytes(..., notes=[...])`` records which
  charset was used and why whenever it is not the declared one (``ParsedMail.charset_notes``).
- UTF-7 is decoded only when the caller allows it (never for HTML).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


_KANA = re.compile("[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]")

# What the detector may choose from: the legacy charsets mail really arrives in, in the
# order that breaks a tie (a Japanese desk: Japanese first; then Chinese, Korean, the
# Windows code pages of Western, Central, Cyrillic, Greek, Turkish and Baltic text).
DETECTOR_CODECS = (
    "cp932",
    "euc_jp",
    "gb18030",
    "cp949",
    "big5",
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1257",
)
_DETECTOR_MAX_BYTES = 64 * 1024  # the detector reads a sample; more says nothing new
_DETECTOR_MAX_CHAOS = 0.3  # charset-normalizer's "mess" ratio above which we refuse
_SINGLE_BYTE = frozenset(
    {"cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1257", "koi8_r", "latin_1"}
)


SHORT_TEXT_CHARS = 20  # non-ASCII characters below which kanji-only text stays Japanese


def _non_ascii(text: str) -> int:
    return sum(1 for ch in text[:65536] if ord(ch) >= 0x80)


def _kana_share(text: str) -> float:
    """Kana among the non-ASCII characters: Japanese prose always has some; Chinese and
    Korean text read as CP932/EUC-JP (or Latin text read so) practically never."""
    non_ascii = sum(1 for ch in text[:65536] if ord(ch) >= 0x80)
    if not non_ascii:
        return 0.0
    return len(_KANA.findall(text[:65536])) / non_ascii


def _japanese(data: bytes) -> tuple[str, str, bool] | None:
    """The most plausible of CP932 and EUC-JP as (text, codec, has kana), or None."""
    candidates = []
    for order, codec in enumerate(("cp932", "euc_jp")):
        text = _try(data, codec)
        if text is not None:
            non_ascii = sum(1 for ch in text[:65536] if ord(ch) >= 0x80)
            score = _implausibility(text)
            # Plausible: mostly ordinary characters (a lone high byte read as a
            # half-width kana is garbage, not Japanese).
            if score <= non_ascii // 2:
                candidates.append((score, order, text, codec))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1]))
    _, _, text, codec = candidates[0]
    return text, codec, _kana_share(text) >= 0.1


def _wordlike(text: str) -> bool:
    """Every non-ASCII character a letter, mark, digit or CJK/full-width punctuation:
    what a name or a subject is made of. A stray byte read as "´" or "¤" is not."""
    for ch in text[:4096]:
        if ord(ch) < 0x80 or 0x3000 <= ord(ch) <= 0x303F or 0xFF00 <= ord(ch) <= 0xFFEF:
            continue
        if unicodedata.category(ch)[0] not in "LMN":
            return False
    return True


def detect(data: bytes) -> tuple[str, str] | None:
    found = _detect(data)
    return None if found is None else (found[0], found[1])


# Detector calls per parsed message (``detector_budget``): a mail of thousands of parts
# with 8-bit names must not cost thousands of detector runs. Past the budget the rules
# without the detector apply (Japanese, then replacement characters).
DETECTOR_CALLS_PER_MESSAGE = 200
_DETECTOR_CALLS: ContextVar[list[int] | None] = ContextVar("detector_calls", default=None)


@contextmanager
def detector_budget(calls: int = DETECTOR_CALLS_PER_MESSAGE) -> Iterator[None]:
    """Within this block at most ``calls`` detector runs (one parse, one thread)."""
    token = _DETECTOR_CALLS.set([calls])
    try:
        yield
    finally:
        _DETECTOR_CALLS.reset(token)


def _detect(data: bytes) -> tuple[str, str, dict[str, float]] | None:
    """charset-normalizer's choice among ``DETECTOR_CODECS`` as (text, codec), or None
    when it finds nothing readable. Ties (the same mess ratio, within 0.01) go to the
    earlier codec of ``DETECTOR_CODECS``."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    budget = _DETECTOR_CALLS.get()
    if budget is not None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
    sample = data[:_DETECTOR_MAX_BYTES]
    try:
        matches = list(from_bytes(sample, cp_isolation=list(DETECTOR_CODECS)))
    except Exception:  # noqa: BLE001 - a detector bug must not lose the mail
        return None
    ranked = []
    chaos: dict[str, float] = {}
    for match in matches:
        codec = match.encoding
        if codec not in DETECTOR_CODECS or match.chaos > _DETECTOR_MAX_CHAOS:
            continue
        chaos[codec] = match.chaos
        ranked.append((round(match.chaos, 2), -round(match.coherence, 2), codec))
    if not ranked:
        return None
    best = min(ranked)
    ties = [r[2] for r in ranked if r[0] <= best[0] + 0.01]
    texts = {codec: _try(data, codec) for codec in ties}
    readable = [c for c in ties if texts[c] is not None]
    if not readable:
        return None
    if all(c in _SINGLE_BYTE for c in readable):
        # The detector often cannot tell windows-1252 from windows-1250 (equal mess and
        # coherence): the reading with more of the accented letters these languages use.
        codec = min(
            readable, key=lambda c: (-_latin_score(texts[c] or ""), DETECTOR_CODECS.index(c))
        )
    else:
        codec = min(readable, key=DETECTOR_CODECS.index)
    return texts[codec] or "", codec, chaos


# Accented letters frequent in Western (French, Spanish, Portuguese, German) and Central
# European (Czech, Slovak, Polish, Hungarian, Croatian) text count 2, the rarer ones
# (Italian grave accents, Nordic letters) 1, anything else -1: a wrong code page turns
# some of them into rarer letters or symbols (Czech "ř" read as windows-1252 is "ø",
# Polish "ł" is "³"; French "à" read as windows-1250 is "ŕ").
_LATIN_COMMON = frozenset(
    "éèàâêôçëïüöäßñáíóúãÉÈÀÇÜÖÄÑÁÍÓÚÃčřěšžůýőűłńśźżąęćđťďľňČŘĚŠŽŮÝŐŰŁŃŚŹŻĄĘĆĐŤĎĽŇ"
)
_LATIN_RARER = frozenset("õìòùîûåøæÕÅØÆ")


def _latin_score(text: str) -> int:
    score = 0
    for ch in text[:65536]:
        if ord(ch) >= 0x80:
            score += 2 if ch in _LATIN_COMMON else 1 if ch in _LATIN_RARER else -1
    return score


def guess_explained(
    data: bytes, *, last_resort: str = "latin-1", hint: str | None = None
) -> tuple[str, str, str]:
    """Decode bytes of unknown charset; (text, codec used, why). In this order:

    1. valid UTF-8; 2. ISO-2022-JP escapes that decode cleanly; 3. UTF-8 with a few
    invalid bytes; 3a. ``hint``, the legacy charset of the message's own text
    (``text_charset``), when the bytes decode in it into letters: a short subject or file
    name says too little for any detector, and a mailer writes its headers in the charset
    of its text; 4. CP932 or EUC-JP when plausible and with kana (Japanese prose);
    4a. CP932 or EUC-JP without kana when shorter than ``SHORT_TEXT_CHARS`` non-ASCII
    characters (names, kanji-only subjects), unless the detector measures the Japanese
    reading clearly worse; 5. the detector (charset-normalizer, ``detect``) among
    ``DETECTOR_CODECS``: GBK/GB18030, Big5, EUC-KR/CP949, the Windows code pages (for
    headers only when the result is made of letters, ``_wordlike``); 6. CP932/EUC-JP
    without kana; 7. UTF-8 with replacement characters if any valid multi-byte sequence
    is there, else ``last_resort`` (latin-1 for bodies; "utf-8" with replacement for
    headers, where 8-bit data is meant to be UTF-8). Never raises."""
    if not data:
        return "", "ascii", "empty"
    jis = _jis_escapes(data)
    if jis is not None:
        return jis, "iso-2022-jp", "ISO-2022-JP escapes"
    try:
        return data.decode("utf-8"), "utf-8", "valid UTF-8"
    except UnicodeDecodeError:
        pass
    mostly = _utf8_mostly(data)
    if mostly is not None:
        return mostly, "utf-8", "UTF-8 with a few invalid bytes"
    if hint:
        hinted = _try(data, hint)
        if hinted is not None and _implausibility(hinted) <= 2 and _wordlike(hinted):
            return hinted, hint, "the charset of the message's text"
    japanese = _japanese(data)
    if japanese is not None and japanese[2]:
        return japanese[0], japanese[1], "Japanese (kana)"
    found = _detect(data)
    if japanese is not None and _non_ascii(japanese[0]) < SHORT_TEXT_CHARS:
        # A name or a few kanji: the detector is unsure in so little, and this is a
        # Japanese desk; it wins only when it finds the Japanese reading clearly worse.
        best_chaos = min(found[2].values()) if found else 0.0
        jp_chaos = found[2].get(japanese[1], best_chaos) if found else 0.0
        if found is None or found[1] in ("cp932", "euc_jp") or jp_chaos <= best_chaos + 0.03:
            return japanese[0], japanese[1], "Japanese (short, no kana)"
    if found is not None and (last_resort != "utf-8" or _wordlike(found[0])):
        if japanese is None or found[1] not in ("cp932", "euc_jp"):
            return found[0], found[1], "detector (charset-normalizer)"
    if japanese is not None:
        return japanese[0], japanese[1], "Japanese (no kana)"
    if _utf8_valid_sequences(data) or last_resort == "utf-8":
        return data.decode("utf-8", errors="replace"), "utf-8", "replacement characters"
    return data.decode("latin-1"), "latin-1", "last resort"


def guess_decode(data: bytes, *, last_resort: str = "latin-1") -> str:
    """``guess_explained`` without the explanation."""
    return guess_explained(data, last_resort=last_resort)[0]


_JIS_ESCAPE = re.compile(rb"\x1b(?:\$[@B]|\$\([DOPQ]|\([IJ])")


def _jis_escapes(data: bytes) -> str | None:
    """ISO-2022-JP text (it is 7-bit, so it also passes as ASCII or UTF-8): decoded when
    it has a JIS X 0208/0212/0213 or kana escape and decodes without errors."""
    if _JIS_ESCAPE.search(data) is None:
        return None
    text, errs = decode_iso2022jp(data)
    return None if errs else text


def _mislabelled(data: bytes, codec: str, text: str) -> tuple[str, str, str] | None:
    """A declared charset that decoded without error but is probably wrong: ISO-2022-JP
    escapes under any ASCII-compatible label (us-ascii, utf-8, iso-8859-1 ...); a
    single-byte label on valid UTF-8 or on Japanese with kana; a Japanese label whose
    reading is implausible on valid UTF-8."""
    if b"\x1b" in data and codec != "iso-2022-jp" and not codec.startswith(("utf_16", "utf_32")):
        jis = _jis_escapes(data)
        if jis is not None:
            return jis, "iso-2022-jp", "ISO-2022-JP escapes under another label"
    if codec in _SINGLE_BYTE or codec.startswith(("iso8859", "cp125", "mac_")):
        if any(b >= 0x80 for b in data):
            try:
                return data.decode("utf-8"), "utf-8", "valid UTF-8 under a single-byte label"
            except UnicodeDecodeError:
                pass
            japanese = _japanese(data)
            if japanese is not None and _kana_share(japanese[0]) >= 0.2:
                return japanese[0], japanese[1], "Japanese (kana) under a single-byte label"
        return None
    if codec in ("cp932", "euc_jp") and _implausibility(text) > 8:
        alt = _try(data, "utf-8")
        if alt is not None:
            return alt, "utf-8", "valid UTF-8 under an implausible Japanese label"
    return None


def decode_bytes(
    data: bytes,
    label: str | None,
    *,
    allow_utf7: bool = True,
    notes: list[str] | None = None,
    where: str = "text",
) -> str:
    """Decode body or header bytes labelled ``label``. Never raises.

    With ``notes``, a line is added whenever the text was not read in the declared
    charset (or had none and was not ASCII): which charset was used and why."""
    if not data:
        return ""
    text, used, why = _decode_labelled(data, label, allow_utf7=allow_utf7)
    if notes is not None and why:
        _add_note(notes, where, label, used, why)
    return text


MAX_NOTES = 20


def _add_note(notes: list[str], where: str, label: str | None, used: str, why: str) -> None:
    declared = _normalise_label(label) or "no charset"
    note = f"{where}: {declared} read as {used} ({why})"
    if note not in notes and len(notes) < MAX_NOTES:
        notes.append(note)


def explain_guess(
    data: bytes,
    *,
    notes: list[str] | None,
    where: str,
    last_resort: str = "latin-1",
    hint: str | None = None,
) -> str:
    """``guess_decode`` that records its choice in ``notes`` (for non-ASCII data)."""
    text, used, why = guess_explained(data, last_resort=last_resort, hint=hint)
    if notes is not None and used != "ascii" and (not data.isascii() or used == "iso-2022-jp"):
        _add_note(notes, where, None, used, why)
    return text


def _decode_labelled(data: bytes, label: str | None, *, allow_utf7: bool) -> tuple[str, str, str]:
    """(text, codec used, why); why is "" when the declared charset was used as is."""
    codec = resolve_codec(label)
    if codec == "utf-7":
        if not allow_utf7:
            # Read UTF-7 as plain ASCII: "+ADw-script+AD4-" stays literal text.
            return guess_decode(data), "ascii", "UTF-7 not decoded in HTML"
        text = _try(data, "utf-7")
        if text is not None:
            return text, "utf-7", ""
        return _guessed(data, "declared charset failed")
    if codec is None:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), "ascii", ""
        return _guessed(data, "unknown or no charset" if label else "no charset")
    text = _try(data, codec)
    if text is not None:
        better = _mislabelled(data, codec, text)
        if better is not None:
            return better
        return text, codec, ""
    if codec == "iso-2022-jp":
        # Real ISO-2022-JP mail with some damage still reads best with our decoder,
        # unless it is actually 8-bit text with a wrong label.
        if not any(b >= 0x80 for b in data[:4096]):
            return decode_iso2022jp(data)[0], "iso-2022-jp", ""
        return _guessed(data, "8-bit data under ISO-2022-JP")
    if codec == "utf-8":
        mostly = _utf8_mostly(data)
        if mostly is not None:
            return mostly, "utf-8", "a few invalid bytes replaced"
    guessed = guess_explained(data)
    if guessed[1] != "latin-1" or codec in ("cp1252", "latin_1"):
        return guessed[0], guessed[1], "declared charset failed; " + guessed[2]
    try:
        return data.decode(codec, errors="replace"), codec, "replacement characters"
    except (LookupError, ValueError, TypeError):
        return data.decode("utf-8", errors="replace"), "utf-8", "replacement characters"


def _guessed(data: bytes, prefix: str) -> tuple[str, str, str]:
    text, used, why = guess_explained(data)
    return text, used, f"{prefix}; {why}"


LEGACY_HINTS = frozenset({"cp932", "euc_jp", "gb18030", "cp949", "big5", "cp950", *_SINGLE_BYTE})


def text_charset(data: bytes, label: str | None) -> str | None:
    """The legacy charset a text part is in (declared and decoding, else guessed), or
    None for ASCII, UTF-8 and anything else that is no use as a hint for the headers."""
    if data.isascii():
        return None
    _, used, _ = _decode_labelled(data, label, allow_utf7=False)
    return used if used in LEGACY_HINTS else None
