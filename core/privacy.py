"""No full resident id in any output: :func:`mask_ids` for every line written, :func:`clip` for an
echoed bad value.

What is masked. A resident id is an 18-character 居民身份证号 whose GB 11643 check digit is right,
read as :func:`jinhua_subsidy.resident_id.normalise` reads it (NFKC, ``x`` as ``X``): ASCII or
full-width digits (``３３０７…``), ``x``/``X``/``ｘ``/``Ｘ``, and every other character that NFKC
turns into digits (superscript ``²``, mathematical ``𝟑``, circled ``⑳`` …). It is found anywhere
in a text, also inside a longer run of digits: every 18-character window of a run that validates
is masked (better too much than too little).

What is not masked, by decision:

* An 18-digit number whose check digit is wrong. It is not a resident id, and it may be a claim
  id, an order number or an amount that a report must show. Roughly one random 18-digit number in
  11 does validate and is masked. A *mistyped* id (one digit wrong) is not caught here either:
  a value known to be a person id must be shown with :func:`jinhua_subsidy.resident_id.mask`,
  valid or not, as the claims parser does.
* A 15-digit first-generation id: it has no check digit, so it cannot be told from other numbers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

#: Every code point whose NFKC form contains an ASCII digit or ``x``/``X`` (Unicode 14.0, the
#: version of Python 3.11's unicodedata; tests/test_privacy.py checks it against the running
#: Python's). Runs of these are the candidates: a text without them holds no id.
_ID_CHAR_RANGES = (
    (0x0030, 0x0039), (0x0058, 0x0058), (0x0078, 0x0078), (0x00B2, 0x00B3), (0x00B9, 0x00B9), (0x00BC, 0x00BE),
    (0x02E3, 0x02E3), (0x2070, 0x2070), (0x2074, 0x2079), (0x2080, 0x2089), (0x2093, 0x2093), (0x213B, 0x213B),
    (0x2150, 0x215F), (0x2168, 0x216B), (0x2178, 0x217B), (0x2189, 0x2189), (0x2460, 0x249B), (0x24B3, 0x24B3),
    (0x24CD, 0x24CD), (0x24E7, 0x24E7), (0x24EA, 0x24EA), (0x3251, 0x325F), (0x32B1, 0x32CB), (0x3358, 0x3370),
    (0x3378, 0x3379), (0x339F, 0x33A6), (0x33A8, 0x33A8), (0x33AF, 0x33AF), (0x33D3, 0x33D3), (0x33E0, 0x33FE),
    (0xFF10, 0xFF19), (0xFF38, 0xFF38), (0xFF58, 0xFF58), (0x1D417, 0x1D417), (0x1D431, 0x1D431), (0x1D44B, 0x1D44B),
    (0x1D465, 0x1D465), (0x1D47F, 0x1D47F), (0x1D499, 0x1D499), (0x1D4B3, 0x1D4B3), (0x1D4CD, 0x1D4CD),
    (0x1D4E7, 0x1D4E7), (0x1D501, 0x1D501), (0x1D51B, 0x1D51B), (0x1D535, 0x1D535), (0x1D54F, 0x1D54F),
    (0x1D569, 0x1D569), (0x1D583, 0x1D583), (0x1D59D, 0x1D59D), (0x1D5B7, 0x1D5B7), (0x1D5D1, 0x1D5D1),
    (0x1D5EB, 0x1D5EB), (0x1D605, 0x1D605), (0x1D61F, 0x1D61F), (0x1D639, 0x1D639), (0x1D653, 0x1D653),
    (0x1D66D, 0x1D66D), (0x1D687, 0x1D687), (0x1D6A1, 0x1D6A1), (0x1D7CE, 0x1D7FF), (0x1F100, 0x1F10A),
    (0x1F127, 0x1F127), (0x1F147, 0x1F147), (0x1FBF0, 0x1FBF9),
)

#: Each id character → its NFKC form, upper-cased (``ｘ`` → ``X``, ``⑳`` → ``20``).
_NORMAL = {
    c: unicodedata.normalize("NFKC", chr(c)).upper() for a, b in _ID_CHAR_RANGES for c in range(a, b + 1)
}
#: No id character gives more than 2 digits in a row (``⑳``), so an id spans at least 9 of them.
_MIN_RUN = 9
#: The candidates' class: the BMP ranges exactly, beyond the BMP one range around them all (exact
#: ranges there make the regex 4× slower). A character that is not an id character maps to itself
#: in a run and breaks its windows, so a wider class finds the same ids.
_CLASS = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _ID_CHAR_RANGES if b <= 0xFFFF)
_CLASS += f"{chr(min(a for a, _ in _ID_CHAR_RANGES if a > 0xFFFF))}-{chr(max(b for _, b in _ID_CHAR_RANGES))}"
_CANDIDATE = re.compile(f"[{_CLASS}]{{{_MIN_RUN},}}")
#: 17 or more ASCII digits in a row, and the X that may follow them (in a normalised run).
_DIGITS = re.compile(r"[0-9]{17,}X?")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  #: GB 11643's, 2^(17-k) mod 11


def valid_id_starts(run: str) -> list[int]:
    """Where an 18-character valid resident id starts in ``run`` (ASCII digits and ``X`` only
    count; the windows may overlap). ISO 7064 MOD 11-2, as a rolling sum over the windows."""
    starts = []
    for m in _DIGITS.finditer(run):
        a, b = m.start(), m.end()
        digits = [ord(c) - 48 for c in run[a:b]]
        if run[b - 1] == "X":
            digits[-1] = 10
        # s = Σ d[i+k]·2^(17-k) over k < 17, mod 11: the weighted sum of window i's first 17.
        s = sum(d * w for d, w in zip(digits[:17], _WEIGHTS, strict=True)) % 11
        for i in range(len(digits) - 17):
            if (s + digits[i + 17]) % 11 == 1:
                starts.append(a + i)
            # the next window: drop d[i] (weight 2^18 ≡ 3 after doubling), add d[i+17] at weight 2
            s = (2 * s - 3 * digits[i] + 2 * digits[i + 17]) % 11
    return starts


def _composes(m: re.Match[str]) -> bool:
    """Whether NFKC composes the run's last character with the combining marks after it
    (``X`` + U+0307 → ``Ẋ``, which is no check character). Only the 32 marks after it are looked
    at: beyond them the answer is no, and an id is masked rather than missed."""
    text, end = m.string, m.end()
    stop = end
    while stop < len(text) and stop - end < 32 and unicodedata.combining(text[stop]):
        stop += 1
    if stop == end:
        return False
    last = m.group()[-1]
    return not unicodedata.normalize("NFKC", last + text[end:stop]).upper().startswith(_NORMAL.get(ord(last), last))


def _mask_run(m: re.Match[str]) -> str:
    run = m.group()
    normal = run.translate(_NORMAL)
    starts = valid_id_starts(normal[:-1] + "#" if _composes(m) else normal)
    if not starts:
        return run
    out = list(normal)
    for i in starts:
        out[i + 4:i + 14] = "*" * 10
    return "".join(out)


def mask_ids(text: str) -> str:
    """``text`` with every valid resident id in it masked as :func:`~jinhua_subsidy.resident_id.mask`
    masks its normalised form: ``…第4行（3307**********1042）…``.

    A run of id characters that holds an id is written normalised (ASCII), the id's middle ten
    characters as ``*``; everything else is left exactly as it is. Idempotent.
    """
    if len(text) < _MIN_RUN:
        return text
    return _CANDIDATE.sub(_mask_run, text)


#: Characters that must not reach a terminal or a line-based file as they are: C0/C1 controls
#: (newline, tab, ESC …), DEL, the line and paragraph separators and the bidirectional controls.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    return repr(m.group())[1:-1]


def clip(value: str, limit: int = 64) -> str:
    """A bad value as it may be echoed in a message: its first ``limit`` characters and
    ``…（共 N 字符）`` after them when there are more (N = the length of ``value``).

    Resident ids are masked (:func:`mask_ids`, before cutting, so no cut id shows its digits) and
    control, line-separator and bidirectional characters are escaped Python-style (``\\n``,
    ``\\x1b``, ``\\u202e``), so an echoed value stays on its line and cannot restyle a terminal.
    The result is at most ``6 × limit`` characters plus the suffix.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    # An id ending after value[limit + 17] starts after value[limit]: it is cut off anyway.
    head = mask_ids(value[:limit + 17])
    if len(value) <= limit and len(head) <= limit:
        return mask_ids(_UNSAFE.sub(_escape, head))  # again: escapes are digits too (\x00 + 1990…)
    return mask_ids(_UNSAFE.sub(_escape, head[:limit])) + f"…（共 {len(value)} 字符）"


def quote(value: str, limit: int = 64) -> str:
    """A bad value quoted as ``repr`` quotes it (which escapes control characters), at most
    ``limit`` characters of it, ids masked: ``'abc…'…（共 131072 字符）``."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    head = mask_ids(value[:limit + 17])
    if len(value) <= limit and len(head) <= limit:
        return mask_ids(repr(head))  # again: repr's escapes are digits too (\U00013560 + 0000…)
    return mask_ids(repr(head[:limit])) + f"…（共 {len(value)} 字符）"


#: A text that may hold a resident id (a polars regex): a character that is not ASCII (full-width,
#: mathematical or enclosed digits: ``３３０７…``, ``㉝0702⑲…``), or 9 or more ASCII id characters
#: in a row. A text with neither holds no id (an ASCII id is 18 of them in a row).
MAYBE_ID = r"[^\x00-\x7F]|[0-9xX]{9,}"


def mask_column(texts: pl.Series) -> pl.Series:
    """A column of texts with every resident id masked (:func:`mask_ids`), the texts that may hold
    one (MAYBE_ID) looked at one by one."""
    odd = texts.str.contains(MAYBE_ID).fill_null(False)
    if not odd.any():
        return texts
    at = odd.arg_true()
    return texts.clone().scatter(at, [mask_ids(v) for v in texts.gather(at).to_list()])
