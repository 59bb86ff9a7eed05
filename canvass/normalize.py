"""Normalizing names, phone numbers, e-mail addresses and language tags: the household import, door
matching, sign-in and the sync all read contact data through here.

Normalization is what makes "José O'Brien" on a voter file and "jose obrien"
typed at the door the same key, so it lives in one place, below every area.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from canvass.errors import MalformedInput

__all__ = [
    "EMAIL_PATTERN", "MAX_LANGUAGE_TAG_LENGTH", "clean_email", "clean_language_tag", "clean_language_tags", "clean_phone",
    "language_tag_or_error", "language_tags_or_error", "name_key", "normalize_email",
]

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


MAX_LANGUAGE_TAG_LENGTH = 35
# language[-script][-region]: the part of BCP 47 (RFC 5646) a door's or a canvasser's language needs.
_LANGUAGE_TAG = re.compile(r"^(?P<language>[a-z]{2,3})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|[0-9]{3}))?$")


@lru_cache(maxsize=1)
def _known_subtags() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Languages, scripts and regions CLDR knows (Babel ships them): "xx" is well-formed but no language."""
    from babel import Locale  # imported here: only language tags need the CLDR data

    english = Locale("en")
    languages = frozenset(str(code).lower() for code in english.languages if "_" not in str(code))
    scripts = frozenset(str(code).lower() for code in english.scripts)
    regions = frozenset(str(code).lower() for code in english.territories)
    return languages, scripts, regions


def clean_language_tag(raw: str | None) -> str | None:
    """A BCP 47 language tag in its canonical case ("ES" -> "es", "zh-hans" -> "zh-Hans", "es_mx" -> "es-MX").

    None for a blank value; ValueError, saying what is wrong, for anything else that is not a known
    language with an optional script and region.
    """
    if raw is None or not raw.strip():
        return None
    shown = raw.strip()[:40]
    tag = raw.strip().replace("_", "-").lower()
    match = _LANGUAGE_TAG.match(tag) if len(tag) <= MAX_LANGUAGE_TAG_LENGTH else None
    if match is None:
        raise ValueError(f"language {shown!r} is not a language tag like es, pl, zh-Hans or es-MX (BCP 47)")
    languages, scripts, regions = _known_subtags()
    language, script, region = match["language"], match["script"], match["region"]
    if language not in languages:
        raise ValueError(f"language {shown!r}: {language!r} is not a known language code (ISO 639)")
    if script and script not in scripts:
        raise ValueError(f"language {shown!r}: {script!r} is not a known script (ISO 15924)")
    if region and region not in regions:
        raise ValueError(f"language {shown!r}: {region!r} is not a known region (ISO 3166 or UN M.49)")
    parts = [language] + ([script.title()] if script else []) + ([region.upper()] if region else [])
    return "-".join(parts)


def clean_language_tags(raw: list[str] | tuple[str, ...]) -> list[str]:
    """Several tags, each cleaned, duplicates dropped, order kept (a canvasser's strongest language first)."""
    cleaned: list[str] = []
    for value in raw:
        tag = clean_language_tag(value)
        if tag is None:
            raise ValueError("a language must not be blank")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def language_tag_or_error(raw: str | None, *, field: str) -> str | None:
    """clean_language_tag for a request: a bad tag is a 400 `invalid_language_tag` naming the field."""
    try:
        return clean_language_tag(raw)
    except ValueError as error:
        raise MalformedInput(str(error), code="invalid_language_tag", details={field: [str(error)]}) from None


def language_tags_or_error(raw: list[str] | tuple[str, ...], *, field: str) -> list[str]:
    try:
        return clean_language_tags(raw)
    except ValueError as error:
        raise MalformedInput(str(error), code="invalid_language_tag", details={field: [str(error)]}) from None
