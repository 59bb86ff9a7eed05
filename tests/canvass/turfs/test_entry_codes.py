"""Entry codes on paper walk lists: short, unambiguous, stable, and every single typo or adjacent swap caught.
No database."""
import random

import pytest

from canvass.errors import ValidationFailed
from canvass.turfs.entry_codes import (
    ALPHABET,
    CODE_LENGTH,
    decode_entry_code,
    encode_entry_code,
    normalize_entry_code,
)

SAMPLE = [1, 2, 3, 28, 29, 841, 10_000, 123_456, 480_769, 1_000_444, 29 ** 7 - 1, 29 ** 7, 29 ** 8 + 5, 2 ** 63 - 1,
          *random.Random(7).sample(range(1, 50_000_000), 40)]


def test_the_alphabet_has_no_look_alikes_and_a_prime_size():
    assert len(ALPHABET) == 29 and len(set(ALPHABET)) == 29
    assert not set("01OILSU") & set(ALPHABET)


def test_codes_are_eight_characters_of_the_alphabet_until_seventeen_billion_doors():
    for household_id in (1, 480_769, 29 ** 7 - 1):
        code = encode_entry_code(household_id)
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    assert len(encode_entry_code(29 ** 7)) == CODE_LENGTH + 1
    assert len(encode_entry_code(2 ** 63 - 1)) == 14


@pytest.mark.parametrize("household_id", SAMPLE)
def test_a_code_decodes_to_its_household(household_id):
    assert decode_entry_code(encode_entry_code(household_id)) == household_id


def test_codes_are_stable_across_releases():
    # Printed sheets outlive deployments: these must never change.
    assert [encode_entry_code(i) for i in (1, 2, 1_000_444)] == ["Z8Q53J24", "4VHYNHFB", "JWNRZME3"]


def test_neighbouring_households_get_unrelated_codes():
    codes = [encode_entry_code(i) for i in range(1000, 1100)]
    assert len(set(codes)) == 100
    # Sequential ids do not give codes sharing a long prefix.
    assert max(sum(a == b for a, b in zip(x, y)) for x, y in zip(codes, codes[1:])) <= 4


def test_every_thousand_ids_get_distinct_codes():
    assert len({encode_entry_code(i) for i in range(1, 3001)}) == 3000


def test_lower_case_spaces_and_dashes_are_accepted():
    code = encode_entry_code(4242)
    typed = f" {code[:4].lower()}-{code[4:]} "
    assert normalize_entry_code(typed) == code and decode_entry_code(typed) == 4242


def _rejected(code: str) -> bool:
    try:
        decode_entry_code(code)
    except ValidationFailed as error:
        assert error.code == "entry_code_invalid"
        return True
    return False


@pytest.mark.parametrize("household_id", SAMPLE)
def test_every_single_substitution_is_caught(household_id):
    code = encode_entry_code(household_id)
    for position in range(len(code)):
        for char in ALPHABET:
            if char != code[position]:
                typo = code[:position] + char + code[position + 1:]
                assert _rejected(typo), (code, typo)


@pytest.mark.parametrize("household_id", SAMPLE)
def test_every_adjacent_transposition_is_caught(household_id):
    code = encode_entry_code(household_id)
    for position in range(len(code) - 1):
        if code[position] != code[position + 1]:
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
            assert _rejected(swapped), (code, swapped)


@pytest.mark.parametrize("typed, reason", [
    ("", "8 characters"),
    ("ABC", "8 characters"),
    ("A" * 30, "8 characters"),
    ("ABCD0FGH", "characters not used in codes: 0"),
    ("ABCDOFGH", "characters not used in codes: O"),
    ("ABCD1IL5", "characters not used in codes: 1IL"),
    ("ABCDÉFGH", "characters not used in codes: É"),
])
def test_malformed_codes_are_refused_with_the_reason(typed, reason):
    with pytest.raises(ValidationFailed) as caught:
        decode_entry_code(typed)
    assert caught.value.code == "entry_code_invalid" and caught.value.details["code"][0].startswith(reason)


def test_a_longer_code_never_printed_decodes_to_nothing():
    # A 9-character code whose id would have had an 8-character one: well-formed, names no door.
    short_id = 12345
    from canvass.turfs import entry_codes

    value = entry_codes._permute(short_id, 29 ** 8)
    digits = []
    for _ in range(8):
        value, digit = divmod(value, 29)
        digits.append(digit)
    digits.reverse()
    digits.append(entry_codes._check_value(digits))
    code = "".join(ALPHABET[d] for d in digits)
    assert decode_entry_code(code) is None


def test_only_household_ids_are_encoded():
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(ValueError):
            encode_entry_code(bad)
