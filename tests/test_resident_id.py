"""居民身份证号 (GB 11643-1999): the check digit (ISO 7064 MOD 11-2) and masking."""

from __future__ import annotations

import pytest

from jinhua_subsidy.claims import Claim, ClaimParser
from jinhua_subsidy.regions import KNOWN_KEYS
from jinhua_subsidy.resident_id import check_digit, mask, normalise, problem
from jinhua_subsidy.testing import person_id

# The worked examples of GB 11643-1999 (appendix), the second one with check character X.
STANDARD = "440524188001010014"
STANDARD_X = "11010519491231002X"


def test_check_digit_of_the_standards_examples():
    assert check_digit(STANDARD[:17]) == "4"
    assert check_digit(STANDARD_X[:17]) == "X"


@pytest.mark.parametrize("pid", [STANDARD, STANDARD_X, "11010519491231002x", " 11010519491231002X "])
def test_valid_ids(pid):
    assert problem(pid) is None


def test_normalise_reads_lower_case_x_as_upper():
    assert normalise(" 11010519491231002x ") == STANDARD_X


@pytest.mark.parametrize("pos", range(17))
def test_any_single_digit_changed_is_caught(pos):
    for pid in (STANDARD, STANDARD_X):
        for d in "0123456789":
            if d == pid[pos]:
                continue
            changed = pid[:pos] + d + pid[pos + 1:]
            assert problem(changed) == "身份证号校验位错误（GB 11643）", changed


def test_wrong_check_character():
    assert problem(STANDARD[:17] + "X") == "身份证号校验位错误（GB 11643）"
    assert problem(STANDARD_X[:17] + "0") == "身份证号校验位错误（GB 11643）"


@pytest.mark.parametrize("pid", ["", "4405241880010100", "4405241880010100145", "44052418800101001Y",
                                 "X40524188001010014", "44052418800101 014"])
def test_wrong_shape(pid):
    assert problem(pid) == "身份证号须为18位（前17位数字，末位数字或X）"


def test_person_id_helper_makes_valid_ids():
    ids = {person_id(n) for n in range(1000)}
    assert len(ids) == 1000
    assert all(problem(i) is None for i in ids)
    assert person_id(7, area="330782").startswith("330782")


def test_mask_keeps_four_and_four():
    assert mask(STANDARD_X) == "1101**********002X"
    assert mask(STANDARD) == "4405**********0014"
    assert mask(" 440524188001010014 ") == "4405**********0014"


@pytest.mark.parametrize(("text", "masked"), [("", ""), ("12345", "*****"), ("123456789", "*********"),
                                              ("1234567890", "1234**7890")])
def test_mask_of_short_text_hides_it(text, masked):
    assert mask(text) == masked


def test_claim_repr_and_row_errors_never_show_the_id():
    parser = ClaimParser(KNOWN_KEYS, {"4-03-02-01": "中式烹调师"})
    row = {"claim_id": "A", "person_id": STANDARD_X, "region": "urban", "kind": "qualification",
           "date": "2021-06-01", "occupation": "4-03-02-01", "level": "4"}
    claim = parser.parse(2, row)
    assert isinstance(claim, Claim)
    assert STANDARD_X not in repr(claim)
    assert "1101**********002X" in repr(claim)
    bad = STANDARD_X[:17] + "1"
    error = parser.parse(3, {**row, "person_id": bad})
    assert str(error) == "第3行（A）：person_id 1101**********0021：身份证号校验位错误（GB 11643）"
    assert bad not in str(error) and bad not in repr(error)


# --- hostile input (issue 7): NFKC first, then only ASCII digits are digits ------------------

Q01 = "33070219900101119X"
Q02 = "３３０７０２１９９００１０１１１９X"  # full-width digits, ASCII X


def test_full_width_and_ascii_ids_are_the_same_id():
    assert check_digit(Q01[:17]) == "X"
    assert normalise(Q01) == normalise(Q02) == Q01
    assert problem(Q01) is None and problem(Q02) is None
    assert mask(Q02) == mask(Q01) == "3307**********119X"


@pytest.mark.parametrize("pid", [
    "３３０７０２１９９００１０１１１９Ｘ",  # full-width X
    "３３０７０２１９９００１０１１１９ｘ",  # full-width x
    "\u3000" + Q01 + "\u3000",  # ideographic spaces
    "\u3000３３０７０２１９９００１０１１１９ｘ\u00a0",
])
def test_normalise_reads_full_width_characters_and_ideographic_spaces(pid):
    assert normalise(pid) == Q01
    assert problem(pid) is None


ARABIC_INDIC = Q01[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + "X"
DEVANAGARI = STANDARD.translate(str.maketrans("0123456789", "०१२३४५६७८९"))


@pytest.mark.parametrize("pid", [
    ARABIC_INDIC,  # str.isdigit() and re's \d accept these; NFKC leaves them as they are
    DEVANAGARI,
    STANDARD[:5] + "٣" + STANDARD[6:],  # one of them
    "٣٣٠",  # even in a text of the wrong length
])
def test_digits_other_than_ascii_are_refused_and_said_so(pid):
    assert normalise(pid) == pid
    assert problem(pid) == "身份证号含有非数字字符（须为0-9，末位可为X）"


@pytest.mark.parametrize("pid", ["三三〇七〇二一九九〇〇一〇一一一九X", "33070219900101119X\n1",
                                 "33070219900101119X\x00"])
def test_other_characters_are_the_wrong_shape(pid):
    assert problem(pid) == "身份证号须为18位（前17位数字，末位数字或X）"


def test_the_messages_are_the_ones_docs_claims_md_shows():
    assert problem(Q01[:17] + "0") == "身份证号校验位错误（GB 11643）"
    assert problem("３３０７０２１９９００１０１１１９０") == "身份证号校验位错误（GB 11643）"
    assert problem("33070219900101119") == "身份证号须为18位（前17位数字，末位数字或X）"
