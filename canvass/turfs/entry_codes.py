"""Entry codes: the short code printed beside each door of a paper walk list, typed back in by a volunteer.

A code is 8 characters (7 for the door, 1 check character) from a 29-character alphabet with no
look-alikes: no 0 or O, no 1, I or L, no U (read as V), no S (read as 5). It names a household, and
only one:

- The household id (unique across organizations) goes through a fixed permutation of 0..29^7-1 (a
  Feistel network with cycle-walking), then is written in base 29. The permutation is a constant of
  this module, not a secret and not per organization: the same code means the same household
  everywhere, so another organization's code finds no door here (404), never another door. It
  spreads codes out, so a code mistyped twice over lands on no household far more often than on a
  neighbour's (sequential ids would give neighbours near-identical codes). Never change KEY or the
  alphabet: codes on paper must stay valid.
- Ids past 29^7 (17 billion) get a longer code (one more character per factor of 29); each id has
  exactly one code.
- The check character makes sum(i * value(char_i)) = 0 (mod 29) over positions i = 1..n. 29 is
  prime and the weights 1..n (n < 29) are nonzero and differ by 1 between neighbours, so every
  single-character substitution and every transposition of two adjacent different characters
  changes the sum: caught (tests check this exhaustively for a sample).

Pure functions, no database.
"""
from __future__ import annotations

import hashlib

from canvass.errors import ValidationFailed

__all__ = ["ALPHABET", "CODE_LENGTH", "decode_entry_code", "encode_entry_code", "normalize_entry_code"]

ALPHABET = "23456789ABCDEFGHJKMNPQRTVWXYZ"
BASE = len(ALPHABET)  # 29, a prime
PAYLOAD_LENGTH = 7  # the shortest code's door part
CODE_LENGTH = PAYLOAD_LENGTH + 1
MAX_PAYLOAD_LENGTH = 13  # 29^13 > 2^63: every bigint id fits
KEY = b"canvass entry codes v1"
ROUNDS = 4
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_SEPARATORS = str.maketrans("", "", " -_.\t")

assert BASE == 29 and len(set(ALPHABET)) == BASE


def _round(value: int, round_: int, bits: int) -> int:
    digest = hashlib.blake2b(value.to_bytes(8, "big"), digest_size=8, key=KEY, person=bytes([round_]) * 16).digest()
    return int.from_bytes(digest, "big") & ((1 << bits) - 1)


def _feistel(value: int, half_bits: int, *, inverse: bool = False) -> int:
    mask = (1 << half_bits) - 1
    left, right = value >> half_bits, value & mask
    rounds = range(ROUNDS - 1, -1, -1) if inverse else range(ROUNDS)
    for r in rounds:
        if inverse:
            left, right = right ^ _round(left, r, half_bits), left
        else:
            left, right = right, left ^ _round(right, r, half_bits)
    return (left << half_bits) | right


def _permute(value: int, domain: int, *, inverse: bool = False) -> int:
    """A bijection of 0..domain-1: a Feistel network over the smallest even bit width, cycle-walked."""
    half_bits = (max(domain - 1, 1).bit_length() + 1) // 2
    value = _feistel(value, half_bits, inverse=inverse)
    while value >= domain:
        value = _feistel(value, half_bits, inverse=inverse)
    return value


def _check_value(values: list[int]) -> int:
    """The check character's value c with sum(i * v_i) + (n+1) * c = 0 (mod 29)."""
    total = sum(weight * value for weight, value in enumerate(values, start=1))
    return (-total * pow(len(values) + 1, -1, BASE)) % BASE


def encode_entry_code(household_id: int) -> str:
    """The household's entry code: 8 characters (more only past 17 billion ids)."""
    if isinstance(household_id, bool) or not isinstance(household_id, int) or household_id < 0:
        raise ValueError("a household id is a non-negative integer")
    length = PAYLOAD_LENGTH
    while household_id >= BASE ** length:
        length += 1
    value = _permute(household_id, BASE ** length)
    values = []
    for _ in range(length):
        value, digit = divmod(value, BASE)
        values.append(digit)
    values.reverse()
    values.append(_check_value(values))
    return "".join(ALPHABET[v] for v in values)


def _invalid(message: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, code="entry_code_invalid", details={"code": [reason]})


def normalize_entry_code(code: str) -> str:
    """Upper-cased, spaces and dashes dropped; 422 entry_code_invalid unless it is a well-formed code."""
    if not isinstance(code, str):
        raise _invalid("an entry code is a string of letters and digits", "not a string")
    normalized = code.translate(_SEPARATORS).upper()
    if not CODE_LENGTH <= len(normalized) <= MAX_PAYLOAD_LENGTH + 1:
        raise _invalid(f"an entry code has {CODE_LENGTH} characters (this has {len(normalized)}): "
                       "check the code on the sheet", f"{CODE_LENGTH} characters")
    unknown = sorted({char for char in normalized if char not in _VALUE})
    if unknown:
        raise _invalid(f"entry codes never contain {', '.join(repr(c) for c in unknown)} "
                       "(they use no 0, 1, O, I, L, S or U): check the code on the sheet",
                       f"characters not used in codes: {''.join(unknown)}")
    values = [_VALUE[char] for char in normalized]
    if sum(weight * value for weight, value in enumerate(values, start=1)) % BASE:
        raise _invalid("typo: this code's check character does not match; check the code on the sheet",
                       "check character does not match (a typo)")
    return normalized


def decode_entry_code(code: str) -> int | None:
    """The household id a code names, or None for a well-formed code no id is written as.

    422 entry_code_invalid (ValidationFailed) for a code that fails its check: a typo.
    """
    normalized = normalize_entry_code(code)
    length = len(normalized) - 1
    value = 0
    for char in normalized[:-1]:
        value = value * BASE + _VALUE[char]
    household_id = _permute(value, BASE ** length, inverse=True)
    if length > PAYLOAD_LENGTH and household_id < BASE ** (length - 1):
        return None  # that id's code is shorter: this one was never printed
    return household_id
