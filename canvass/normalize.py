"""Normalizing names, phone numbers and e-mail addresses: the household import, door matching,
sign-in and the sync all read contact data through here.

Normalization is what makes "José O'Brien" on a voter file and "jose obrien"
typed at the door the same key, so it lives in one place, below every area.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["EMAIL_PATTERN", "clean_email", "clean_phone", "name_key", "normalize_email"]

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D+")


@lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    """Lowercase, accents stripped, punctuation dropped ("O'Brien" -> "obrien")."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_ish = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    # Apostrophes and dots join ("o'brien" -> "obrien"); hyphens separate words.
    ascii_ish = ascii_ish.replace("'", "").replace("\u2019", "").replace(".", "").replace("-", " ")
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", ascii_ish)).strip()


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def name_key(first_name: str | None, last_name: str | None) -> str:
    """The matching key of a person's name: folded "first last"."""
    first, last = _fold(first_name or ""), _fold(last_name or "")
    return f"{first} {last}".strip()


def clean_phone(raw: str | None) -> str | None:
    """Digits only with the US country code ("(312) 555-0100" -> "13125550100").

    Returns None for a blank value; raises ValueError for something that is not
    a phone number, so callers can say which row and why.
    """
    if raw is None or not raw.strip():
        return None
    digits = _NOT_DIGIT.sub("", raw)
    if len(digits) == 10:
        return "1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return digits
    if 11 <= len(digits) <= 15 and raw.strip().startswith("+"):
        return digits  # international, written with its country code
    raise ValueError(f"phone {raw.strip()[:40]!r} is not a 10-digit number")


def clean_email(raw: str | None) -> str | None:
    """Lowercased e-mail, None when blank; ValueError when it is not an address."""
    email = normalize_email(raw or "")
    if not email:
        return None
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValueError(f"email {email[:60]!r} is not a valid address")
    return email
