"""The household CSV import: keys, multi-unit buildings, people, bad rows by line, re-imports, placement."""
import csv
import gc
import io
import json
import tracemalloc

import pytest
from shapely.geometry import box
from sqlalchemy import func, select

import canvass.geo.households as households_module
from canvass.errors import ValidationFailed
from canvass.geo.boundaries import import_boundaries
from canvass.geo.households import import_households
from canvass.geo.models import Boundary, Building, Household
from canvass.geo.synthetic import generate_households, write_households_csv
from canvass.people.models import Person
from tests.data import CHICAGO
from tests.factories import make_org, tenant_row

HEADER = "external_id,address,unit,city,state,zip,latitude,longitude,first_name,last_name,phone,email\n"


@pytest.fixture(autouse=True, params=["shared partitions", "own partitions"])
def first_import_path(request, monkeypatch):
    """Every test twice: a first import into the shared partitions, and into the organization's own
    (which production takes from OWN_PARTITION_MIN_ROWS rows): the results must be the same."""
    if request.param == "own partitions":
        monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 1)
    return request.param


def run(session, org, content, **kwargs):
    data = content.encode() if isinstance(content, str) else content
    return import_households(session, organization_id=org.id, stream=io.BytesIO(data), **kwargs)


def count(session, model, org):
    return session.execute(select(func.count()).select_from(model).where(model.organization_id == org.id)).scalar_one()


def totals(session, org):
    return count(session, Building, org), count(session, Household, org), count(session, Person, org)


def last_updates(session, org):
    return tuple(
        session.execute(select(func.max(model.updated_at)).where(model.organization_id == org.id)).scalar_one()
        for model in (Building, Household, Person)
    )


def import_chicago(session, org):
    for level, name, parent, path in (
        ("ward", "ward", None, "wards_2023.geojson"),
        ("precinct", "FIRST_prec", "FIRST_ward", "precincts_2023.geojson"),
    ):
        with open(CHICAGO / path) as handle:
            import_boundaries(session, organization_id=org.id, level=level, geojson=json.load(handle),
                              name_field=name, parent_field=parent)


def test_rows_become_buildings_units_and_people(db_session):
    org = make_org(db_session)
    summary = run(db_session, org, HEADER + (
        "v1,2150 W Roscoe St,1,Chicago,IL,60618,41.9434,-87.6812,Ana,Garcia,(773) 555-0101,Ana.Garcia@Example.org\n"
        "v2,2150 W Roscoe St,1,Chicago,IL,60618,41.9434,-87.6812,Luis,Garcia,,\n"
        "v3,2150 w. roscoe street,Apt 2,CHICAGO,IL,60618-1234,41.9434,-87.6812,Mei,Chen,,\n"
        ",3401 N Hoyne Ave,,Chicago,IL,60618,41.9430,-87.6800,,,,\n"
    ))
    assert (summary.rows_read, summary.rows_imported, summary.rows_skipped) == (4, 4, 0)
    assert (summary.buildings_created, summary.households_created, summary.people_created) == (2, 3, 3)
    # "2150 w. roscoe street" is the same building; "Apt 2" and "2" the same unit.
    building = db_session.execute(
        select(Building).where(Building.organization_id == org.id, Building.house_number == 2150)
    ).scalar_one()
    assert (building.street, building.block, building.side, building.line1) == ("W ROSCOE ST", 2100, "even", "2150 W Roscoe St")
    units = db_session.execute(
        select(Household.unit).where(Household.building_id == building.id).order_by(Household.unit)
    ).scalars().all()
    assert units == ["1", "2"]
    ana = db_session.execute(select(Person).where(Person.organization_id == org.id, Person.external_id == "v1")).scalar_one()
    assert (ana.phone, ana.email, ana.name_key, ana.source) == ("17735550101", "ana.garcia@example.org", "ana garcia", "import")
    # The row without names is a household only.
    hoyne = db_session.execute(select(Building).where(Building.organization_id == org.id, Building.house_number == 3401)).scalar_one()
    assert db_session.execute(select(func.count()).select_from(Household).where(Household.building_id == hoyne.id)).scalar_one() == 1


def test_reimporting_the_same_file_changes_nothing(db_session):
    org = make_org(db_session)
    content = HEADER + "".join(
        f"p{i},{100 + 2 * (i // 3)} N Elm St,{i % 3 or ''},Chicago,IL,60610,41.90{i:02d},-87.63,First{i},Last{i},,\n"
        for i in range(30)
    ) + ",7 N Elm St,,Chicago,IL,60610,41.9,-87.63,No,Key,,\n"
    first = run(db_session, org, content)
    before = totals(db_session, org)
    stamps = last_updates(db_session, org)
    again = run(db_session, org, content)
    assert first.people_created == 31
    assert (again.buildings_created, again.buildings_updated, again.households_created,
            again.people_created, again.people_updated) == (0, 0, 0, 0, 0)
    # Every row is one an earlier import applied: none is read again.
    assert (again.rows_read, again.rows_unchanged, again.rows_imported, again.rows_skipped) == (31, 31, 0, 0)
    assert totals(db_session, org) == before
    assert last_updates(db_session, org) == stamps


ROWS = [f"r{i},{200 + 2 * i} N Elm St,,Chicago,IL,60610,41.9{i:02d},-87.63,First{i},Last{i},773-555-01{i:02d},\n"
        for i in range(10)]


@pytest.fixture
def row_chunks(monkeypatch):
    """Every row its own chunk (exact counts), three rows a batch (lookups and COPYs span several)."""
    monkeypatch.setattr(households_module, "_CHUNK_AVERAGE_ROWS", 1)
    monkeypatch.setattr(households_module, "_BATCH_ROWS", 3)


def test_a_reimport_reads_again_only_the_rows_that_changed(db_session, row_chunks):
    org = make_org(db_session)
    run(db_session, org, HEADER + "".join(ROWS))
    changed = list(ROWS)
    changed[4] = changed[4].replace("Last4", "Newname")
    changed[8] = changed[8].replace("41.908", "41.918")
    summary = run(db_session, org, HEADER + "".join(changed) + ",900 N Elm St,,Chicago,IL,60610,41.95,-87.63,New,Row,,\n")
    assert (summary.rows_read, summary.rows_unchanged, summary.rows_imported) == (11, 8, 3)
    assert (summary.people_created, summary.people_updated, summary.buildings_created, summary.buildings_updated) \
        == (1, 1, 1, 1)
    renamed = db_session.execute(select(Person).where(Person.organization_id == org.id,
                                                      Person.external_id == "r4")).scalar_one()
    assert renamed.last_name == "Newname"
    assert count(db_session, Person, org) == 11


def test_an_unchanged_row_does_not_undo_what_was_learned_since(db_session):
    org = make_org(db_session)
    content = HEADER + "".join(ROWS[:3])
    run(db_session, org, content)
    person = db_session.execute(select(Person).where(Person.organization_id == org.id,
                                                     Person.external_id == "r1")).scalar_one()
    person.phone = "13125550999"  # e.g. a newer number from a pledge card
    db_session.flush()
    summary = run(db_session, org, content)
    db_session.refresh(person)
    assert (summary.rows_unchanged, person.phone) == (3, "13125550999")
    # The file's own change to that row still applies.
    run(db_session, org, content.replace("773-555-0101", "773-555-0111"))
    db_session.refresh(person)
    assert person.phone == "17735550111"


def test_rows_are_read_again_under_another_header_format_or_organization(db_session, monkeypatch):
    org, other = make_org(db_session), make_org(db_session)
    run(db_session, org, HEADER + "".join(ROWS[:4]))
    # The same rows under a header that names the columns differently: read again, nothing changes.
    renamed = HEADER.replace("external_id", "voter_id").replace("phone", "phone_number")
    summary = run(db_session, org, renamed + "".join(ROWS[:4]))
    assert (summary.rows_unchanged, summary.rows_imported, summary.people_updated) == (0, 4, 0)
    # A new format of the import (its normalization changed) reads every row again.
    monkeypatch.setattr(households_module, "ROW_FORMAT", b"canvass household row test")
    assert run(db_session, org, HEADER + "".join(ROWS[:4])).rows_unchanged == 0
    # Another organization's import of the same file knows nothing of these.
    assert run(db_session, other, HEADER + "".join(ROWS[:4])).people_created == 4


def test_a_bad_row_is_reported_again_on_every_import(db_session, row_chunks):
    org = make_org(db_session)
    content = HEADER + ROWS[0] + "bad,1 N Elm St,,Chicago,IL,60610,north,-87.63,Bad,Row,,\n"
    for _ in range(2):
        summary = run(db_session, org, content)
        assert [p.line for p in summary.errors] == [3]
    assert (summary.rows_unchanged, summary.rows_skipped, summary.rows_imported) == (1, 1, 0)


def test_rows_refused_as_duplicates_are_reported_again_too(db_session, row_chunks):
    org = make_org(db_session)
    content = HEADER + ROWS[0] + ROWS[1].replace("r1,", "r0,")
    for _ in range(2):
        summary = run(db_session, org, content)
        assert [p.line for p in summary.errors] == [3]


def test_one_changed_row_in_a_big_file_reads_again_only_the_chunks_around_it(db_session, tmp_path):
    org = make_org(db_session)
    path = tmp_path / "ward.csv"
    rows = write_households_csv(generate_households(box(-87.72, 41.94, -87.66, 41.98), count=1_500, seed=3), path)
    lines = path.read_text().splitlines(keepends=True)
    run(db_session, org, "".join(lines))
    # One person's last name changed, one new row in the middle, one row gone near the end.
    middle = len(lines) // 2
    person_line = next(n for n in range(middle // 2, middle) if lines[n].split(",")[8])
    fields = lines[person_line].split(",")
    fields[9] = "Changed"
    edited = lines[:person_line] + [",".join(fields)] + lines[person_line + 1:middle]
    edited += [",1 N Elm St,,Chicago,IL,60610,41.95,-87.70,New,Person,,\n"] + lines[middle:-10] + lines[-9:]
    summary = run(db_session, org, "".join(edited))
    assert summary.rows_read == rows
    assert summary.rows_unchanged >= rows - 3 * households_module._CHUNK_MAX_ROWS // 4
    assert summary.rows_imported < rows / 4, summary
    assert (summary.people_created, summary.people_updated) == (1, 1)
    changed = db_session.execute(select(Person).where(Person.organization_id == org.id,
                                                      Person.external_id == fields[0])).scalar_one()
    assert changed.last_name == "Changed"


def test_reimport_by_external_id_updates_the_person_and_keeps_what_the_file_leaves_blank(db_session):
    org = make_org(db_session)
    run(db_session, org, HEADER + "v9,10 W Elm St,,Chicago,IL,60610,41.90,-87.63,Rosa,Diaz,773-555-0109,rosa@example.org\n")
    summary = run(db_session, org, HEADER + "v9,12 W Elm St,3,Chicago,IL,60610,41.90,-87.63,Rosa,Diaz-Lopez,,\n")
    assert (summary.people_created, summary.people_updated) == (0, 1)
    rosa = db_session.execute(select(Person).where(Person.organization_id == org.id)).scalar_one()
    household = tenant_row(db_session, Household, rosa.household_id)
    assert (rosa.last_name, household.unit, rosa.phone, rosa.email) == ("Diaz-Lopez", "3", "17735550109", "rosa@example.org")
    assert count(db_session, Person, org) == 1


def test_people_without_external_id_are_keyed_by_household_and_name(db_session):
    org = make_org(db_session)
    row = ",10 W Elm St,,Chicago,IL,60610,41.90,-87.63,José,O'Brien,{phone},\n"
    run(db_session, org, HEADER + row.format(phone=""))
    summary = run(db_session, org, HEADER + row.format(phone="312 555 0177").replace("José", "Jose"))
    assert (summary.people_created, summary.people_updated) == (0, 1)
    person = db_session.execute(select(Person).where(Person.organization_id == org.id)).scalar_one()
    assert (person.first_name, person.name_key, person.phone) == ("José", "jose obrien", "13125550177")


def test_bad_rows_are_skipped_and_reported_by_line_number(db_session):
    org = make_org(db_session)
    content = (
        HEADER.encode()
        + b"a1,1 N State St,,Chicago,IL,60602,41.88,-87.62,Ok,One,,\n"                 # 2 ok
        + b"a2,,,Chicago,IL,60602,41.88,-87.62,No,Address,,\n"                         # 3
        + b"a3,2 N State St,,Chicago,IL,60602,forty-one,-87.62,Bad,Lat,,\n"            # 4
        + b"a4,3 N State St,,Chicago,IL,60602,41.88,-187.62,Bad,Lon,,\n"               # 5
        + b"a5,4 N State St,,Chicago,IL,60602,41.88\n"                                 # 6
        + b"a6,5 N State St,,Chicago,IL,60602,41.88,-87.62,Ren\xe9,Latin1,,\n"        # 7
        + b"\n"                                                                        # 8 blank
        + b'a7,"6 N State St\nrear",,Chicago,IL,60602,41.88,-87.62,Two,Lines,,\n'      # 9-10 ok
        + b"a8,7 N State St,,Chicago,IL,60602,,-87.62,No,Lat,,\n"                      # 11
        + b"a9,8 N State St,,Chicago,IL,60602,nan,-87.62,Nan,Lat,,\n"                  # 12
        + b"a10,9 N State St,,Chicago,IL,60602,0,0,Null,Island,,\n"                    # 13
        + b"a1,10 N State St,,Chicago,IL,60602,41.88,-87.62,Dup,Id,,\n"                # 14
        + b"a11,11 N State St,,Chicago,IL,606021234567,41.88,-87.62,Long,Zip,,\n"     # 15
        + b"a12,12 N State St,,Chicago,IL,60602,41.88,-87.62,Bad,Phone,12,not-an-email\n"  # 16 ok, 2 warnings
    )
    summary = run(db_session, org, content)
    assert [(p.line, p.reason) for p in summary.errors] == [
        (3, "missing address"),
        (4, "latitude 'forty-one' is not a number"),
        (5, "longitude -187.62 is out of range (-180 to 180)"),
        (6, "expected 12 fields, found 7"),
        (7, "not valid UTF-8 (byte 0xe9 at position 51); save the file as UTF-8"),
        (11, "missing latitude"),
        (12, "latitude nan is out of range (-90 to 90)"),
        (13, "latitude and longitude are both 0 (not geocoded)"),
        (14, "external_id 'a1' already on line 2"),
        (15, "zip is longer than 10 characters"),
    ]
    assert [(p.line, p.reason) for p in summary.warnings] == [
        (16, "phone '12' is not a 10-digit number; phone not imported"),
        (16, "email 'not-an-email' is not a valid address; email not imported"),
    ]
    assert (summary.rows_read, summary.rows_imported, summary.rows_skipped) == (13, 3, 10)
    assert count(db_session, Person, org) == 3
    assert db_session.execute(select(Building.line1).where(Building.organization_id == org.id,
                                                           Building.house_number == 6)).scalar_one() == "6 N State St\nrear"


def test_a_house_number_too_long_for_any_street_imports_as_an_unparsed_address(db_session):
    org = make_org(db_session)
    summary = run(db_session, org, HEADER + "b1,123456789012 W Elm St,,Chicago,IL,60610,41.90,-87.63,Big,Number,,\n"
                                            "b2,1234567 N Elm St,,Chicago,IL,60610,41.90,-87.63,Seven,Digits,,\n"
                                            "b3,442 444 W Elm St,,Chicago,IL,60610,41.90,-87.63,Ok,Range,,\n")
    assert (summary.rows_imported, summary.unparsed_addresses) == (3, 2)
    numbers = db_session.execute(select(Building.line1, Building.house_number).where(Building.organization_id == org.id))
    assert set(numbers) == {("123456789012 W Elm St", None), ("1234567 N Elm St", None), ("442 444 W Elm St", 442)}


@pytest.mark.parametrize(
    "content, code, message",
    [
        (b"", "empty_file", "the file is empty"),
        (HEADER.encode(), "no_rows", "header but no rows"),
        (HEADER.encode() + b"\n\n", "no_rows", "header but no rows"),
        (b"address,unit,city,zip,longitude\n1 N State St,,Chicago,60602,-87.62\n", "missing_columns", "latitude"),
        (b"name,street,lat,lon\nA,1 N State St,41.88,-87.62\n", "missing_columns", "address"),
        (b"address,line1,latitude,longitude\n1 N State St,1 N State St,41.88,-87.62\n", "duplicate_columns", "address"),
        ("address,latitude,longitude\n1 N State St,41.88,-87.62\n".encode("utf-16"), "unsupported_encoding", "UTF-16"),
        (b"addr\xe9ss,latitude,longitude\n1 N State St,41.88,-87.62\n", "unsupported_encoding", "header line"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not_csv", "spreadsheet"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unsupported_encoding", "header line"),
        (b"\x00\x00\x01\x02 binary\n", "not_csv", "not CSV text"),
        (HEADER.encode() + b"a1,,,Chicago,IL,60602,41.88,-87.62,No,Address,,\n", "no_valid_rows", "line 2: missing address"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_before_anything_is_written(db_session, content, code, message):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed, match=message) as caught:
        run(db_session, org, content)
    assert caught.value.code == code
    assert totals(db_session, org) == (0, 0, 0)


def test_a_unit_written_in_the_address_line_is_a_unit_of_the_building(db_session):
    org = make_org(db_session)
    run(db_session, org, "address,unit,city,zip,latitude,longitude\n"
        "1234 N Sheridan Rd Apt 3B,,Chicago,60640,41.99,-87.65\n"
        "1234 N Sheridan Rd,4,Chicago,60640,41.99,-87.65\n"
        "1234 N. Sheridan Road #5,,Chicago,60640,41.99,-87.65\n")
    building = db_session.execute(select(Building).where(Building.organization_id == org.id)).scalar_one()
    units = db_session.execute(select(Household.unit).where(Household.building_id == building.id).order_by(Household.unit)).scalars().all()
    assert units == ["3B", "4", "5"]


def test_the_real_parcels_land_in_the_ward_and_precinct_computed_for_them(db_session):
    org = make_org(db_session)
    import_chicago(db_session, org)
    path = CHICAGO / "residential_parcels.csv"
    with open(path, "rb") as stream:
        summary = import_households(db_session, organization_id=org.id, stream=stream)
    assert summary.rows_skipped == 0 and summary.ignored_columns == ["class_description", "ward_2023_pip", "precinct_2023_pip"]
    placed = dict(db_session.execute(
        select(Building.line1, func.concat(func.lpad(Boundary.parent_key, 2, "0"), func.lpad(Boundary.name, 3, "0")))
        .join(Boundary, Boundary.id == Building.precinct_id)
        .where(Building.organization_id == org.id)
    ).all())
    with open(path, newline="") as handle:
        expected = {row["address"]: row["precinct_2023_pip"] for row in csv.DictReader(handle)}
    assert len(placed) == len(expected) and placed == expected


def test_real_buildings_geocoded_outside_the_city_are_kept_and_flagged(db_session):
    org = make_org(db_session)
    import_chicago(db_session, org)
    with open(CHICAGO / "buildings.csv", "rb") as stream:
        summary = import_households(db_session, organization_id=org.id, stream=stream)
    assert summary.rows_skipped == 0
    assert summary.outside_boundaries == 9
    texas = db_session.execute(
        select(Building).where(Building.organization_id == org.id, func.ST_Y(Building.location) < 35)
    ).scalar_one()
    assert texas.outside_boundaries and texas.ward_id is None
    with open(CHICAGO / "buildings.csv", newline="") as handle:
        published = {(float(r["Longitude"]), float(r["Latitude"])): r["ward_2023_pip"] for r in csv.DictReader(handle)}
    wards = db_session.execute(
        select(func.ST_X(Building.location), func.ST_Y(Building.location), Boundary.name)
        .join(Boundary, Boundary.id == Building.ward_id)
        .where(Building.organization_id == org.id)
    ).all()
    assert len(wards) > 3000 and all(published[(lon, lat)] == ward for lon, lat, ward in wards)


def test_households_imported_before_the_wards_are_placed_when_the_wards_arrive(db_session):
    org = make_org(db_session)
    summary = run(db_session, org, "address,latitude,longitude\n2150 W Roscoe St,41.9434,-87.6812\n")
    assert summary.outside_boundaries == 1
    import_chicago(db_session, org)
    building = db_session.execute(select(Building).where(Building.organization_id == org.id)).scalar_one()
    ward = tenant_row(db_session, Boundary, building.ward_id)
    assert ward.name == "32" and not building.outside_boundaries and building.precinct_id is not None


def test_the_import_streams_rows_so_memory_does_not_grow_with_the_file(db_session, tmp_path, monkeypatch):
    # The rows of one batch are held (10,000 in production, ~10 MB); smaller here, so that both files
    # span many batches and what is measured is growth with the file.
    monkeypatch.setattr(households_module, "_BATCH_ROWS", 1_000)
    org = make_org(db_session)
    area = box(-87.72, 41.94, -87.66, 41.98)
    peaks, row_counts = [], []
    for households, seed in ((2_500, 7), (10_000, 8)):
        path = tmp_path / f"{households}.csv"
        rows = write_households_csv(generate_households(area, count=households, seed=seed, id_prefix=f"s{seed}"), path)
        tracemalloc.start()
        try:
            with open(path, "rb") as stream:
                summary = import_households(db_session, organization_id=org.id, stream=stream)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert summary.rows_imported == rows
        row_counts.append(rows)
    # Four times the rows (~20,000 vs ~5,000): holding the rows would cost more than
    # 500 bytes for each extra row; what grows is only the bounded address cache.
    per_extra_row = (peaks[1] - peaks[0]) / (row_counts[1] - row_counts[0])
    assert per_extra_row < 100, (peaks, row_counts)


def test_progress_is_reported_in_bytes_read(db_session):
    org = make_org(db_session)
    content = HEADER + "".join(f"p{i},{i + 1} N Elm St,,Chicago,IL,60610,41.9,-87.63,A,B{i},,\n" for i in range(25_000))
    seen, stages = [], []
    run(db_session, org, content, on_progress=seen.append, on_stage=stages.append)
    assert seen == sorted(seen) and seen[-1] == len(content) and len(seen) >= 3
    assert stages == ["writing buildings, households and people"]


def test_imports_are_per_organization(db_session):
    mine, theirs = make_org(db_session), make_org(db_session)
    row = "v1,10 W Elm St,,Chicago,IL,60610,41.90,-87.63,Rosa,Diaz,,\n"
    run(db_session, theirs, HEADER + row)
    summary = run(db_session, mine, HEADER + row)
    assert (summary.buildings_created, summary.people_created) == (1, 1)
    assert totals(db_session, mine) == totals(db_session, theirs) == (1, 1, 1)


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_cyclic_collector_is_paused_while_the_file_is_read_and_restored_after(db_session, enabled_before):
    org = make_org(db_session)
    enabled_while_reading = []
    content = HEADER + "v1,1 N State St,,Chicago,IL,60602,41.8825,-87.6278,Ana,Ruiz,,\n"
    (gc.enable if enabled_before else gc.disable)()
    try:
        run(db_session, org, content, on_progress=lambda _bytes: enabled_while_reading.append(gc.isenabled()))
        assert enabled_while_reading == [False]
        assert gc.isenabled() is enabled_before

        def fail(_bytes):
            raise RuntimeError("the upload broke off")

        with pytest.raises(RuntimeError):  # failed while reading: restored all the same
            run(db_session, org, content, on_progress=fail)
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()
