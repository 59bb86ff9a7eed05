"""Street-address parsing and normalisation for US (Chicago-style) addresses.

Pure functions used to key households on import and to group doors into block
faces (street, hundred block, odd/even side) for turf cutting and walk order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ParsedAddress",
    "block_face_key",
    "normalize_line1",
    "normalize_unit",
    "parse_street_address",
]

DIRECTIONS = {
    "N": "N", "NORTH": "N",
    "S": "S", "SOUTH": "S",
    "E": "E", "EAST": "E",
    "W": "W", "WEST": "W",
    "NE": "NE", "NORTHEAST": "NE",
    "NW": "NW", "NORTHWEST": "NW",
    "SE": "SE", "SOUTHEAST": "SE",
    "SW": "SW", "SOUTHWEST": "SW",
}

# USPS Publication 28 suffix abbreviations (the ones that occur in Chicago data).
SUFFIXES = {
    "ALLEY": "ALY", "ALY": "ALY",
    "AVENUE": "AVE", "AVE": "AVE", "AV": "AVE", "AVN": "AVE", "AVNUE": "AVE",
    "BOULEVARD": "BLVD", "BLVD": "BLVD", "BOUL": "BLVD", "BLV": "BLVD",
    "CIRCLE": "CIR", "CIR": "CIR",
    "COURT": "CT", "CT": "CT", "CRT": "CT",
    "DRIVE": "DR", "DR": "DR", "DRV": "DR",
    "EXPRESSWAY": "EXPY", "EXPY": "EXPY",
    "HIGHWAY": "HWY", "HWY": "HWY",
    "LANE": "LN", "LN": "LN",
    "PARKWAY": "PKWY", "PKWY": "PKWY", "PKY": "PKWY",
    "PLACE": "PL", "PL": "PL",
    "PLAZA": "PLZ", "PLZ": "PLZ",
    "ROAD": "RD", "RD": "RD",
    "ROW": "ROW",
    "SQUARE": "SQ", "SQ": "SQ",
    "STREET": "ST", "ST": "ST", "STR": "ST",
    "TERRACE": "TER", "TER": "TER", "TERR": "TER",
    "TRAIL": "TRL", "TRL": "TRL",
    "WAY": "WAY",
}

# Words that introduce a secondary unit inside line 1 ("... APT 2").
UNIT_DESIGNATORS = {
    "APT", "APARTMENT", "UNIT", "STE", "SUITE", "RM", "ROOM", "FL", "FLOOR",
    "BLDG", "NO", "NUM", "NUMBER", "#",
}

# House numbers run to six digits at most in the US; a longer run of digits is
# not a house number (and would not fit the database's integer column).
_NUMBER = re.compile(r"^(\d{1,6})[A-Z]?$")
_FRACTION = re.compile(r"^\d+/\d+$")
_PUNCTUATION = re.compile(r"[.,;]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    number: int
    street: str  # normalised, e.g. "W ADDISON ST"
    side: str  # "odd" | "even"
    block: int  # hundred block, e.g. 1200 for 1234
    number_end: int | None = None  # end of a range such as 3000-3004
    unit: str = ""  # unit found inside line 1 ("... APT 2"), normalised


def _tokens(text: str) -> list[str]:
    text = _PUNCTUATION.sub(" ", text.upper())
    # "#2" and "# 2" are the same unit marker; split it off as its own token.
    text = text.replace("#", " # ")
    # Ranges written "3000-3004" or "3000 - 3004" become one token.
    text = re.sub(r"(?<=\d)\s*-\s*(?=\d)", "-", text)
    return [t for t in _SPACES.split(text.strip()) if t]


def _split_unit(tokens: list[str]) -> tuple[list[str], str]:
    """Split "... APT 2" off the street tokens (never the first token)."""
    for i in range(1, len(tokens)):
        if tokens[i] in UNIT_DESIGNATORS:
            return tokens[:i], normalize_unit(" ".join(tokens[i:]))
    return tokens, ""


def _street_tokens(tokens: list[str]) -> list[str]:
    """Normalise a direction prefix and the trailing suffix of a street name."""
    out = list(tokens)
    if not out:
        return out
    # A leading direction is a prefix only if a real name follows it:
    # "W NORTH AVE" -> prefix W, but "NORTH AVE" is the street North Ave.
    if out[0] in DIRECTIONS and len(out) > 1 and any(t not in SUFFIXES for t in out[1:]):
        out[0] = DIRECTIONS[out[0]]
    if len(out) > 1 and out[-1] in SUFFIXES:
        out[-1] = SUFFIXES[out[-1]]
    elif len(out) > 2 and out[-1] in DIRECTIONS and out[-2] in SUFFIXES:
        # Post-directional ("... AVE N"): abbreviate the suffix before it.
        out[-2] = SUFFIXES[out[-2]]
        out[-1] = DIRECTIONS[out[-1]]
    return out


def _house_number(tokens: list[str]) -> tuple[int, int | None, str, int] | None:
    """Leading house number as (number, range end, fraction, tokens consumed)."""
    if not tokens:
        return None
    first = tokens[0]
    # "205/225 N Michigan Ave" is a range; "1/2" alone is not a number.
    if _FRACTION.match(first):
        lo, _, hi = first.partition("/")
        if int(hi) > int(lo) >= 10:
            first = f"{lo}-{hi}"
    if "-" in first:
        lo, _, hi = first.partition("-")
        m_lo, m_hi = _NUMBER.match(lo), _NUMBER.match(hi)
        if not (m_lo and m_hi):
            return None
        start, end = int(m_lo.group(1)), int(m_hi.group(1))
        number, end, used = start, (end if end > start else None), 1
    else:
        m = _NUMBER.match(first)
        if not m:
            return None
        number, end, used = int(m.group(1)), None, 1
        # "442 444 W WELLINGTON AVE": a second, larger bare number followed by
        # a street name is a range written without its dash.
        if len(tokens) > 2 and _NUMBER.match(tokens[1]) and tokens[1].isdigit() and int(tokens[1]) > number:
            end, used = int(tokens[1]), 2
    fraction = ""
    # "1234 1/2 W ..." is a distinct door but keeps 1234 as the number.
    if len(tokens) > used + 1 and _FRACTION.match(tokens[used]):
        fraction, used = tokens[used], used + 1
    return number, end, fraction, used


def normalize_line1(line1: str) -> str:
    """Canonical form of an address line: uppercase, single spaces, no
    punctuation, USPS suffix and direction abbreviations, ranges as "A-B" and a
    unit written inside line 1 as "# X" — stable enough for a household key.
    """
    tokens, unit = _split_unit(_tokens(line1 or ""))
    parsed = _house_number(tokens)
    if parsed is None:
        body = _street_tokens(tokens)
    else:
        number, end, fraction, used = parsed
        # Keep a letter suffix ("1234A") since it names a different door.
        first = tokens[0] if ("-" not in tokens[0] and "/" not in tokens[0]) else str(number)
        lead = [f"{number}-{end}" if end else first] + ([fraction] if fraction else [])
        body = lead + _street_tokens(tokens[used:])
    text = " ".join(body)
    return f"{text} # {unit}" if unit else text


def normalize_unit(unit: str | None) -> str:
    """Canonical unit: "Apt 2", "#2", "unit 2" and "2" all give "2"; "" -> "".

    Designator words are dropped, letters uppercased, inner spaces removed and
    leading zeros of purely numeric units stripped ("02" -> "2").
    """
    if not unit:
        return ""
    tokens = [t for t in _tokens(unit) if t not in UNIT_DESIGNATORS]
    text = "".join(tokens).replace("-", "")
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


def parse_street_address(line1: str) -> ParsedAddress | None:
    """Parse "1234 W Addison St", "3000-3004 N Sheridan Rd", "5 E Elm".

    Returns None when there is no leading house number or no street name.
    """
    tokens, unit = _split_unit(_tokens(line1 or ""))
    parsed = _house_number(tokens)
    if parsed is None:
        return None
    number, end, _fraction, used = parsed
    street = _street_tokens(tokens[used:])
    if not street or all(t in DIRECTIONS for t in street):
        return None
    return ParsedAddress(
        number=number,
        street=" ".join(street),
        side="even" if number % 2 == 0 else "odd",
        block=number // 100 * 100,
        number_end=end,
        unit=unit,
    )


def block_face_key(parsed: ParsedAddress) -> tuple[str, int, str]:
    """(street, hundred block, side): the doors one walks along one side of a block."""
    return (parsed.street, parsed.block, parsed.side)
