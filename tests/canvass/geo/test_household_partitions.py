"""An organization's first big household import loads its own partitions (canvass/geo/partitions.py):
the same rows, keys, indexes and checked foreign keys as the shared partitions; refused whole when it
cannot attach them in time."""
import io

import pytest
from shapely.geometry import box
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

import canvass.geo.households as households_module
import canvass.geo.partitions as partitions_module
from canvass.errors import Conflict
from canvass.geo.households import import_households
from canvass.geo.models import Building, Household
from canvass.geo.synthetic import generate_households, write_households_csv
from canvass.people.models import Person
from tests.factories import make_org

AREA = box(-87.72, 41.94, -87.66, 41.98)


def synthetic_file(households: int, seed: int) -> bytes:
    buffer = io.StringIO()
    write_households_csv(generate_households(AREA, count=households, seed=seed), buffer)
    return buffer.getvalue().encode()


def partitions_of(session, table: str) -> dict[str, str]:
    return dict(session.execute(text("""
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = CAST(:table AS regclass)
    """), {"table": table}).all())


def places_and_people(session, org) -> list[tuple]:
    """Everything the import stored for the organization, without ids."""
    return session.execute(
        select(Building.address_key, Building.line1, func.ST_AsText(Building.location), Building.ward_id,
               Building.street, Building.house_number, Household.unit, Person.external_id, Person.first_name,
               Person.last_name, Person.name_key, Person.phone, Person.email)
        .select_from(Person)
        .join(Household, (Household.organization_id == Person.organization_id) & (Household.id == Person.household_id))
        .join(Building, (Building.organization_id == Household.organization_id) & (Building.id == Household.building_id))
        .where(Person.organization_id == org.id)
        .order_by(Building.address_key, Household.unit, Person.name_key, Person.external_id)
    ).all()


def test_a_first_big_import_loads_the_organizations_own_partitions_with_the_same_result(db_session, monkeypatch):
    content = synthetic_file(400, seed=11)
    shared_org, own_org = make_org(db_session), make_org(db_session)
    monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 10**9)
    shared = import_households(db_session, organization_id=shared_org.id, stream=io.BytesIO(content))
    monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 100)
    own = import_households(db_session, organization_id=own_org.id, stream=io.BytesIO(content))

    assert (own.buildings_created, own.households_created, own.people_created) == \
        (shared.buildings_created, shared.households_created, shared.people_created)
    assert places_and_people(db_session, own_org)[0][0] and \
        [row[:3] + row[4:] for row in places_and_people(db_session, own_org)] == \
        [row[:3] + row[4:] for row in places_and_people(db_session, shared_org)]
    for table in ("buildings", "households", "people"):
        bounds = partitions_of(db_session, table)
        assert bounds[f"{table}__org_{own_org.id}"] == f"FOR VALUES IN ('{own_org.id}')"
        assert f"{table}__org_{shared_org.id}" not in bounds
        # Every index of the partitioned table has its partition on the new table, foreign keys validated.
        parent_indexes, attached = db_session.execute(text("""
            SELECT (SELECT count(*) FROM pg_index WHERE indrelid = CAST(:parent AS regclass)),
                   (SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
                    WHERE x.indrelid = CAST(:part AS regclass))
        """), {"parent": table, "part": f"{table}__org_{own_org.id}"}).one()
        assert parent_indexes == attached > 0
        assert db_session.execute(text("""
            SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = CAST(:part AS regclass) AND contype = 'f'
        """), {"part": f"{table}__org_{own_org.id}"}).scalar_one()

    # The organization's partitions then take its later imports and every other write like the shared ones.
    again = import_households(db_session, organization_id=own_org.id, stream=io.BytesIO(
        content + b"x1,5 N Elm St,,Chicago,IL,60610,41.95,-87.70,Late,Comer,,\n"))
    assert (again.people_created, again.people_updated) == (1, 0)
    assert again.rows_unchanged > own.rows_read / 2  # all but the last chunk
    assert db_session.execute(text(f"SELECT count(*) FROM people__org_{own_org.id}")).scalar_one() == \
        own.people_created + 1


def test_the_unique_keys_hold_on_an_organizations_own_partition(db_session, monkeypatch):
    monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 1)
    org = make_org(db_session)
    import_households(db_session, organization_id=org.id, stream=io.BytesIO(synthetic_file(20, seed=12)))
    person = db_session.execute(select(Person).where(Person.organization_id == org.id,
                                                     Person.external_id.is_not(None)).limit(1)).scalar_one()
    with pytest.raises(Exception, match="uq_people_organization_id_external_id|duplicate key"):
        with db_session.begin_nested():
            db_session.execute(text("INSERT INTO people (organization_id, external_id, first_name) "
                                    "VALUES (:org, :ext, 'Twin')"), {"org": org.id, "ext": person.external_id})


def test_a_small_first_import_or_an_organization_with_people_stays_in_the_shared_partitions(db_session, monkeypatch):
    org = make_org(db_session)
    import_households(db_session, organization_id=org.id, stream=io.BytesIO(synthetic_file(20, seed=13)))
    monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 1)
    import_households(db_session, organization_id=org.id, stream=io.BytesIO(synthetic_file(20, seed=14)))
    assert f"people__org_{org.id}" not in partitions_of(db_session, "people")


def test_an_import_that_cannot_attach_its_partitions_in_time_is_refused_whole(committing_app, settings, monkeypatch):
    from api.extensions import db

    monkeypatch.setattr(households_module, "OWN_PARTITION_MIN_ROWS", 1)
    monkeypatch.setattr(partitions_module, "ATTACH_LOCK_TIMEOUT", "300ms")
    with committing_app.app_context():
        org_id = make_org(db.session).id
        db.session.commit()
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as dashboard:
            dashboard.execute(text("SELECT count(*) FROM people"))  # a long read holds the shared partition
            with Session(engine) as session:
                with pytest.raises(Conflict) as refused:
                    import_households(session, organization_id=org_id, stream=io.BytesIO(synthetic_file(20, seed=15)))
                session.rollback()
            dashboard.rollback()
        assert refused.value.code == "import_busy"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE :name"),
                                      {"name": f"%\\_\\_org\\_{org_id}"}).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM people WHERE organization_id = :org"),
                                      {"org": org_id}).scalar_one() == 0
    finally:
        engine.dispose()
