import csv

import pytest

from canvass.geo.addresses import (
    ParsedAddress,
    block_face_key,
    normalize_line1,
    normalize_unit,
    parse_street_address,
)
from tests.data import CHICAGO


def _rows(name: str) -> list[dict]:
    with (CHICAGO / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("line1", "number", "street", "side", "block"),
    [
        ("1234 W Addison St", 1234, "W ADDISON ST", "even", 1200),
        ("3000-3004 N Sheridan Rd", 3000, "N SHERIDAN RD", "even", 3000),
        ("5 E Elm", 5, "E ELM", "odd", 0),
        ("433 W. Briar Place", 433, "W BRIAR PL", "odd", 400),
        ("1061 W 16th Street", 1061, "W 16TH ST", "odd", 1000),
        ("5700 South Lake Shore Drive", 5700, "S LAKE SHORE DR", "even", 5700),
        ("2367 West Logan Blvd", 2367, "W LOGAN BLVD", "odd", 2300),
        ("111  w huron st", 111, "W HURON ST", "odd", 100),
        ("6730 S South Shore Dr", 6730, "S SOUTH SHORE DR", "even", 6700),
        ("2930 N. Sheridan Rd.", 2930, "N SHERIDAN RD", "even", 2900),
        ("7345 N Washtenaw Avenue", 7345, "N WASHTENAW AVE", "odd", 7300),
    ],
)
def test_parses_chicago_street_addresses(line1, number, street, side, block):
    parsed = parse_street_address(line1)
    assert parsed is not None
    assert (parsed.number, parsed.street, parsed.side, parsed.block) == (number, street, side, block)


def test_range_keeps_first_number_and_records_the_end():
    assert parse_street_address("3000-3004 N Sheridan Rd").number_end == 3004
    assert parse_street_address("8725- 8745 W Higgins Rd").number_end == 8745
    assert parse_street_address("442 444 W WELLINGTON AVE").number_end == 444
    assert parse_street_address("205/225 N Michigan Ave").number_end == 225
    assert parse_street_address("1234 W Addison St").number_end is None


def test_direction_word_is_a_street_name_when_nothing_else_follows():
    assert parse_street_address("1600 W North Ave").street == "W NORTH AVE"
    assert parse_street_address("100 North Ave").street == "NORTH AVE"


def test_unit_written_inside_line1_is_split_off():
    parsed = parse_street_address("12 N Main St #3R")
    assert (parsed.street, parsed.unit) == ("N MAIN ST", "3R")
    assert parse_street_address("1234 W Addison St Apt 2").unit == "2"


@pytest.mark.parametrize("line1", ["", "W Addison St", "1234", "1234 W", "PO Box 12", "One North Wacker Drive"])
def test_returns_none_without_a_number_and_a_street(line1):
    assert parse_street_address(line1) is None


def test_normalize_line1_gives_one_key_for_spelling_variants():
    variants = ["1234 W. Addison Street", "1234 west addison st", "  1234   W ADDISON ST  ", "1234 W Addison St."]
    assert {normalize_line1(v) for v in variants} == {"1234 W ADDISON ST"}
    assert normalize_line1("3000 - 3004 North Sheridan Road") == "3000-3004 N SHERIDAN RD"


def test_normalize_line1_is_idempotent_and_keeps_distinct_doors_apart():
    for line in ["1234 W Addison St", "1234A N Damen Ave", "1234 1/2 N Damen Ave", "12 N Main St #3R"]:
        once = normalize_line1(line)
        assert normalize_line1(once) == once
    assert normalize_line1("1234A N Damen Ave") != normalize_line1("1234 N Damen Ave")
    assert normalize_line1("1234 1/2 N Damen Ave") != normalize_line1("1234 N Damen Ave")


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("Apt 2", "2"), ("#2", "2"), ("2", "2"), ("", ""), (None, ""), ("apt. 3r", "3R"), ("Unit 02", "2"),
     ("# 1F", "1F"), ("G", "G"), ("Suite 100", "100"), ("2 R", "2R")],
)
def test_normalize_unit(unit, expected):
    assert normalize_unit(unit) == expected


def test_block_face_key_separates_sides_and_joins_a_hundred_block():
    a = parse_street_address("1201 W Addison St")
    b = parse_street_address("1299 W Addison St")
    c = parse_street_address("1200 W Addison St")
    assert block_face_key(a) == block_face_key(b) == ("W ADDISON ST", 1200, "odd")
    assert block_face_key(c) == ("W ADDISON ST", 1200, "even")
    assert isinstance(a, ParsedAddress)


def test_every_real_residential_parcel_address_parses_consistently():
    rows = _rows("residential_parcels.csv")
    for row in rows:
        parsed = parse_street_address(row["address"])
        assert parsed is not None, row["address"]
        assert parsed.block == parsed.number // 100 * 100
        assert parsed.side == ("even" if parsed.number % 2 == 0 else "odd")
        assert normalize_line1(row["address"]).startswith(str(parsed.number))


def test_nearly_all_real_building_addresses_parse():
    rows = _rows("buildings.csv")
    parsed = [parse_street_address(row["Address"]) for row in rows]
    share = sum(p is not None for p in parsed) / len(rows)
    # The rest are named buildings ("One North Wacker Drive", airports).
    assert share > 0.995
    streets = {p.street for p in parsed if p}
    assert "N SHERIDAN RD" in streets and "S MICHIGAN AVE" in streets
