"""No full resident id in any output (issue 7): mask_ids finds every valid id in a text, in any
form NFKC reads as one; clip and quote bound an echoed value."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinhua_subsidy import privacy
from jinhua_subsidy.privacy import clip, mask_ids, quote, valid_id_starts
from jinhua_subsidy.resident_id import check_digit, mask

ID = "330702199001011042"  # valid
ID_X = "11010519491231002X"  # valid, GB 11643's example with X
NOT_ID = "330702199001011043"  # the check digit is wrong
FULL = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
assert check_digit(ID[:17]) == ID[17] and check_digit(NOT_ID[:17]) != NOT_ID[17]


def is_id(window: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{17}[0-9X]", window)) and check_digit(window[:17]) == window[17]


def ids_in(text: str) -> list[str]:
    """Every 18-window of the text as NFKC and upper-casing read it that is a valid id."""
    t = unicodedata.normalize("NFKC", text).upper()
    return [t[i:i + 18] for i in range(len(t) - 17) if is_id(t[i:i + 18])]


# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "masked"), [
    ("无法处理 第4行（330702199001011042）", "无法处理 第4行（3307**********1042）"),
    ("hukou 为未知地区 '330702199001011034'", "hukou 为未知地区 '3307**********1034'"),
    (ID, "3307**********1042"),
    (ID_X, "1101**********002X"),
    ("11010519491231002x", "1101**********002X"),
    # full-width digits and check character, read as NFKC reads them: written back in ASCII
    ("ａ３３０７０２１９９００１０１１１９Ｘｂ", "ａ3307**********119Xｂ"),
    ("１１０１０５１９４９１２３１００２ｘ", "1101**********002X"),
    ("\u3000" + ID.translate(FULL) + "\u3000", "\u30003307**********1042\u3000"),
    # two ids, with and without a separator
    (f"{ID},{ID_X}", "3307**********1042,1101**********002X"),
    (ID_X + ID, "1101**********002X3307**********1042"),
    # inside a longer run of digits: every window that validates is masked
    ("9" + ID + "9", "93307**********10429"),
    ("00" + ID, "003307**********1042"),
    # superscript and mathematical digits are digits to NFKC
    ("33070219900101104²", "3307**********1042"),
    ("𝟑𝟑𝟎𝟕𝟎𝟐𝟏𝟗𝟗𝟎𝟎𝟏𝟎𝟏𝟏𝟎𝟒𝟐", "3307**********1042"),
    # ⑲ is "19" to NFKC
    ("330702⑲9001011042", "3307**********1042"),
    # X and a combining dot above are Ẋ to NFKC: no check character, no id; x and a cedilla are x̧
    (ID_X + "\u0307", ID_X + "\u0307"),
    ("11010519491231002x\u0316\u0307", "11010519491231002x\u0316\u0307"),
    (ID_X + "\u0327", "1101**********002X\u0327"),
    (ID + "\u0307", "3307**********1042\u0307"),
])
def test_valid_ids_are_masked(text, masked):
    assert mask_ids(text) == masked
    assert ids_in(mask_ids(text)) == []


@pytest.mark.parametrize("pid", [ID, ID_X, "11010519491231002x", ID.translate(FULL), ID_X.translate(FULL)])
def test_an_id_alone_is_masked_as_resident_id_mask_masks_it(pid):
    assert mask_ids(pid) == mask(pid)


@pytest.mark.parametrize("text", [
    NOT_ID,  # not an id: an 18-digit number with a wrong check digit is left as it is (decision)
    NOT_ID.translate(FULL),
    "第4行（A-330702199001011043）",
    ID[:17],  # 17 digits
    ID[:17] + "Y",
    "33070219900101104 2",
    "٣٣٠٧٠٢١٩٩٠٠١٠١١٠٤٢",  # Arabic-Indic digits are not digits of an id (NFKC keeps them)
    "330702199001011042"[:10] + "-" + "330702199001011042"[10:],
    "",
    "3307",
    "第12行（A-0012）：region 2021-06-01 amount 900.00",
])
def test_text_without_a_valid_id_is_unchanged(text):
    assert mask_ids(text) == text


def test_ids_on_many_lines_are_all_masked():
    lines = [f"第{n}行（{ID}）：x\n" for n in range(1000)]
    assert mask_ids("".join(lines)) == "".join(f"第{n}行（3307**********1042）：x\n" for n in range(1000))


def test_a_long_run_of_digits_is_checked_window_by_window():
    rng = random.Random(7)
    run = "".join(rng.choice("0123456789") for _ in range(20_000))
    starts = valid_id_starts(run)
    assert starts == [i for i in range(len(run) - 17) if is_id(run[i:i + 18])]
    assert len(starts) > 1000
    assert ids_in(mask_ids(run)) == []


# --- the table of id characters ---------------------------------------------------------------


def test_the_id_characters_are_every_character_nfkc_makes_a_digit_or_x_of():
    """The table is Unicode 14.0's; a Python with a newer Unicode must not know more of them."""
    table = {c for a, b in privacy._ID_CHAR_RANGES for c in range(a, b + 1)}
    now = {c for c in range(sys.maxunicode + 1)
           if any(ch in "0123456789xX" for ch in unicodedata.normalize("NFKC", chr(c)))}
    assert now <= table
    # and no id character gives more than two digits or X in a row: an id spans 9 of them at least
    longest = max(len(r) for c in table for r in re.findall("[0-9X]+", privacy._NORMAL[c]) or [""])
    assert longest == 2 and privacy._MIN_RUN * longest >= 18


def test_every_id_character_is_a_candidate():
    table = [chr(c) for a, b in privacy._ID_CHAR_RANGES for c in range(a, b + 1)]
    for c in table:
        assert privacy._CANDIDATE.fullmatch(c * privacy._MIN_RUN), hex(ord(c))
    assert privacy._CANDIDATE.search("第" * 20 + "a" * 20 + "٣" * 20) is None


# --- properties -------------------------------------------------------------------------------


def _digit_variant(c: str, style: int) -> str:
    if style == 0:
        return c
    if style == 1:
        return c.translate(FULL)
    return c.lower() if c == "X" else c


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    """A valid id, each character written in ASCII, full-width or (for X) lower case."""
    first17 = draw(st.text("0123456789", min_size=17, max_size=17))
    pid = first17 + check_digit(first17)
    styles = draw(st.lists(st.integers(0, 2), min_size=18, max_size=18))
    return "".join(_digit_variant(c, s) for c, s in zip(pid, styles, strict=True))


#: text that is hard for the masker: digits of all kinds, x, separators and CJK
TRICKY = st.text(st.sampled_from(list("0123456789０１２３４５６７８９xXｘＸ²³⑳𝟑٣ ，（）-第行a\n")) ) | st.text()


@st.composite
def texts_with_ids(draw: st.DrawFn) -> str:
    text = draw(TRICKY)
    for pid in draw(st.lists(resident_ids(), min_size=1, max_size=4)):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + pid + text[at:]
    return text


@settings(max_examples=400)
@given(texts_with_ids())
def test_no_valid_id_survives_masking(text):
    out = mask_ids(text)
    assert ids_in(out) == []
    assert mask_ids(out) == out  # idempotent


@settings(max_examples=400)
@given(TRICKY)
def test_masking_is_idempotent_and_leaves_text_without_ids_alone(text):
    out = mask_ids(text)
    assert mask_ids(out) == out
    assert ids_in(out) == []
    if not ids_in(text):
        assert out == text


@given(st.text("0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"),
       st.text("第行：，a -"), st.text("第行：，a -"))
def test_an_18_digit_number_with_a_wrong_check_digit_is_left_alone(first17, last, before, after):
    if check_digit(first17) == last:
        last = "0" if last != "0" else "1"
    text = before + first17 + last + after
    assert mask_ids(text) == text


@given(st.text("0123456789X", min_size=0, max_size=80))
def test_valid_id_starts_is_the_check_digit_of_every_window(run):
    assert valid_id_starts(run) == [i for i in range(len(run) - 17) if is_id(run[i:i + 18])]


# --- clip and quote ---------------------------------------------------------------------------


def test_clip_keeps_a_short_value():
    assert clip("九百") == "九百"
    assert clip("a" * 64) == "a" * 64


def test_clip_cuts_a_long_value_and_says_how_long_it_was():
    assert clip("a" * 65) == "a" * 64 + "…（共 65 字符）"
    assert clip("9" * 131_072) == "9" * 64 + "…（共 131072 字符）"
    assert clip("abcdef", limit=3) == "abc…（共 6 字符）"
    assert clip("abcdef", limit=0) == "…（共 6 字符）"


def test_clip_masks_ids_also_where_it_cuts_one():
    assert clip(f"hukou {ID}") == "hukou 3307**********1042"
    assert clip("a" * 60 + ID + "b" * 100) == "a" * 60 + "3307…（共 178 字符）"
    assert clip("a" * 50 + ID.translate(FULL) + "b" * 100) == "a" * 50 + "3307**********…（共 168 字符）"


def test_clip_escapes_control_and_bidirectional_characters():
    assert clip("a\nb\tc\x1b[31md\u202ee\u2028") == "a\\nb\\tc\\x1b[31md\\u202ee\\u2028"


def test_clip_refuses_a_negative_limit():
    with pytest.raises(ValueError, match="limit must be >= 0, not -1"):
        clip("a", -1)


def test_quote_is_repr_of_the_clipped_value():
    assert quote("九百") == "'九百'"
    assert quote("a\nb") == "'a\\nb'"
    assert quote("x" * 70) == "'" + "x" * 64 + "'…（共 70 字符）"
    assert quote(ID) == "'3307**********1042'"


@given(st.text(), st.integers(0, 100))
def test_clip_is_bounded_and_shows_no_id(value, limit):
    out = clip(value, limit)
    suffix = f"…（共 {len(value)} 字符）"
    assert len(out) <= 6 * limit + len(suffix)
    assert ids_in(out) == []
    if len(value) > limit:
        assert out.endswith(suffix)
    elif len(mask_ids(value)) <= limit:
        assert out == mask_ids(privacy._UNSAFE.sub(privacy._escape, mask_ids(value)))  # an escape's digits too


@given(texts_with_ids(), st.integers(0, 100))
def test_clip_shows_no_id_of_a_value_with_ids(value, limit):
    assert ids_in(clip(value, limit)) == []
    assert ids_in(quote(value, limit)) == []


@pytest.mark.parametrize("value", [
    "0\U00013560000000000000000000000000100000000001",  # repr: \U00013560 then the zeros hold an id
    "\x00" + "3307021990010116",  # \x00 then 16 digits: 003307021990010116 is an id
])
def test_an_escape_that_makes_an_id_with_the_digits_after_it_is_masked(value):
    assert ids_in(quote(value, 13)) == [] and ids_in(clip(value, 64)) == [] and ids_in(quote(value)) == []
