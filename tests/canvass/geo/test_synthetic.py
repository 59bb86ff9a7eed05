import csv
import inspect
import io
import itertools
import json
import re
import time
import tracemalloc
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from canvass.geo import synthetic
from canvass.geo.addresses import parse_street_address
from canvass.geo.synthetic import COLUMNS, generate_households, write_households_csv
from tests.data import CHICAGO

UNIT_PATTERN = re.compile(r"^(|G|\d{1,2}|\d[FR]|\d[A-Z]|\d\d\d)$")


@pytest.fixture(scope="module")
def wards():
    features = json.loads((CHICAGO / "wards_2023.geojson").read_text())["features"]
    return {str(f["properties"]["ward"]): shape(f["geometry"]) for f in features}


@pytest.fixture(scope="module")
def ward33_rows(wards):
    return list(generate_households(wards["33"], count=5000, seed=42))


def _households(rows):
    return {(r["address"], r["unit"]) for r in rows}


def test_rows_have_exactly_the_import_columns(ward33_rows):
    assert all(tuple(r) == COLUMNS for r in ward33_rows)
    assert COLUMNS == ("external_id", "address", "unit", "city", "state", "zip", "latitude", "longitude",
                       "first_name", "last_name", "phone", "email")
    assert all(isinstance(v, str) for r in ward33_rows[:100] for v in r.values())


@pytest.mark.parametrize("ward", ["1", "33", "25"])
def test_generates_exactly_count_households_inside_the_ward(wards, ward):
    rows = list(generate_households(wards[ward], count=3000, seed=1))
    assert len(_households(rows)) == 3000
    points = {(float(r["longitude"]), float(r["latitude"])) for r in rows}
    lon, lat = np.array(list(points)).T
    assert shapely.contains_xy(wards[ward], lon, lat).all()


def test_one_row_per_person_and_households_of_one_to_four(ward33_rows):
    sizes = Counter((r["address"], r["unit"]) for r in ward33_rows)
    assert set(sizes.values()) == {1, 2, 3, 4}
    assert len(ward33_rows) == sum(sizes.values())
    assert len({r["external_id"] for r in ward33_rows}) == len(ward33_rows)
    assert all(r["external_id"].startswith("syn-") for r in ward33_rows)


def test_some_people_have_no_phone_or_email(ward33_rows):
    phones = [r["phone"] for r in ward33_rows]
    emails = [r["email"] for r in ward33_rows]
    assert 0.2 < phones.count("") / len(phones) < 0.4
    assert 0.35 < emails.count("") / len(emails) < 0.65
    assert all(re.fullmatch(r"\d{3}-555-01\d\d", p) for p in phones if p)
    assert all(re.fullmatch(r"[a-z.]+\d*@example\.(com|org|net)", e) for e in emails if e)


def test_same_seed_same_rows_other_seed_other_rows(wards):
    first = list(itertools.islice(generate_households(wards["1"], count=2000, seed=7), 500))
    again = list(itertools.islice(generate_households(wards["1"], count=2000, seed=7), 500))
    other = list(itertools.islice(generate_households(wards["1"], count=2000, seed=8), 500))
    assert first == again
    assert first != other


def test_building_mix_looks_like_a_chicago_ward(ward33_rows):
    units_per_building = Counter(a for a, _ in _households(ward33_rows))
    sizes = Counter(units_per_building.values())
    buildings = sum(sizes.values())
    single = sizes[1] / buildings
    flats = (sizes[2] + sizes[3]) / buildings
    small_apartments = sum(sizes[n] for n in (4, 5, 6)) / buildings
    courtyards = sum(v for n, v in sizes.items() if 12 <= n <= 30)
    assert 0.25 < single < 0.45
    assert 0.3 < flats < 0.5
    assert 0.12 < small_apartments < 0.3
    assert courtyards >= 5
    assert max(sizes) <= 30
    assert all(UNIT_PATTERN.match(u) for _, u in _households(ward33_rows))


def test_units_of_a_building_are_named_consistently(ward33_rows):
    units = defaultdict(set)
    for address, unit in _households(ward33_rows):
        units[address].add(unit)
    for names in units.values():
        assert ("" in names) == (len(names) == 1)
    assert any(names == {"1", "2"} for names in units.values())
    assert any("1F" in names and "1R" in names for names in units.values())


def test_addresses_follow_the_chicago_grid(ward33_rows):
    origin_lon, origin_lat = synthetic.ORIGIN_LON, synthetic.ORIGIN_LAT
    per_deg_lon = synthetic.MILES_PER_DEG_LON * 800
    per_deg_lat = synthetic.MILES_PER_DEG_LAT * 800
    sides = defaultdict(list)
    for r in ward33_rows:
        parsed = parse_street_address(r["address"])
        assert parsed is not None
        lon, lat = float(r["longitude"]), float(r["latitude"])
        prefix = parsed.street.split()[0]
        if prefix in ("E", "W"):
            # Numbers grow 800 a mile east/west of State St.
            assert abs(abs(lon - origin_lon) * per_deg_lon - parsed.number) < 15
            assert prefix == ("W" if lon < origin_lon else "E")
            sides[(parsed.street, parsed.block)].append((parsed.side, lat))
        else:
            assert prefix in ("N", "S")
            assert abs(abs(lat - origin_lat) * per_deg_lat - parsed.number) < 15
            assert prefix == ("N" if lat > origin_lat else "S")
            sides[(parsed.street, parsed.block)].append((parsed.side, -lon))
    # Even numbers on the north side of east-west streets and the west side
    # of north-south streets: the "northness/westness" separates the sides.
    checked = 0
    for entries in sides.values():
        even = [v for side, v in entries if side == "even"]
        odd = [v for side, v in entries if side == "odd"]
        if even and odd:
            assert min(even) > max(odd)
            checked += 1
    assert checked > 50


def test_house_numbers_are_unique_within_a_block_face(ward33_rows):
    located = {}
    for r in ward33_rows:
        point = (r["latitude"], r["longitude"])
        assert located.setdefault(r["address"], point) == point


def test_is_a_lazy_generator_that_streams_a_million_rows(wards):
    rows = generate_households(wards["1"], count=600_000, seed=3)
    assert inspect.isgenerator(rows)
    started = time.perf_counter()
    produced = sum(1 for _ in itertools.islice(rows, 1_000_000))
    elapsed = time.perf_counter() - started
    assert produced == 1_000_000
    assert elapsed < 30


def test_memory_stays_flat_while_streaming(wards):
    def peak_after(rows: int) -> int:
        tracemalloc.start()
        try:
            for _ in itertools.islice(generate_households(wards["1"], count=20_000, seed=3), rows):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # Ten times the rows, (almost) the same peak: rows are not accumulated.
    assert peak_after(40_000) < peak_after(4_000) + 2 * 1024 * 1024


def test_zip_city_state_and_prefix_arguments_are_used(wards):
    rows = list(generate_households(wards["33"], count=50, seed=2, zip_code="60618", city="CHICAGO",
                                    state="IL", id_prefix="demo"))
    assert {r["zip"] for r in rows} == {"60618"}
    assert {r["city"] for r in rows} == {"CHICAGO"}
    assert all(r["external_id"].startswith("demo-") for r in rows)
    default_zip = list(generate_households(wards["33"], count=50, seed=2))
    assert all(re.fullmatch(r"606\d\d", r["zip"]) for r in default_zip)


def test_zero_households_yield_nothing_and_negative_is_rejected(wards):
    assert list(generate_households(wards["33"], count=0, seed=1)) == []
    with pytest.raises(ValueError):
        list(generate_households(wards["33"], count=-1, seed=1))


def test_write_households_csv_round_trips(tmp_path, wards):
    rows = list(generate_households(wards["33"], count=200, seed=5))
    buffer = io.StringIO()
    assert write_households_csv(iter(rows), buffer) == len(rows)
    buffer.seek(0)
    assert list(csv.DictReader(buffer)) == rows

    path = tmp_path / "households.csv"
    assert write_households_csv(generate_households(wards["33"], count=200, seed=5), path) == len(rows)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == COLUMNS
        assert list(reader) == rows
