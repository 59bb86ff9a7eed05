"""What a door result means for the people and households (sync.py for new contacts,
conflicts.py when a lead's resolution keeps a contact whose consequences were held)."""
from __future__ import annotations

from sqlalchemy import BigInteger, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from canvass.geo.models import Household
from canvass.people.models import Person


def _wanted(values, type_):
    return func.unnest(bindparam(None, list(values), type_=ARRAY(type_))).table_valued("value").render_derived(
        name="wanted"
    )


def apply_door_outcomes(session: Session, organization_id: int, rows: list[dict]) -> None:
    """moved: the person's residence (or, with no person named, every listed resident's) is no
    longer current; deceased: the person; wrong_address: the household is flagged; a
    do-not-contact request: the person, else the whole household."""
    moved_people, moved_households, deceased, wrong, dnc_people, dnc_households = (set() for _ in range(6))
    for row in rows:
        person_id, household_id, code = row["person_id"], row["household_id"], row["result_code"]
        if code == "moved":
            if person_id:
                moved_people.add(person_id)
            else:
                moved_households.add(household_id)
        elif code == "deceased" and person_id:
            deceased.add(person_id)
        elif code == "wrong_address":
            wrong.add(household_id)
        if row["do_not_contact"]:
            if person_id:
                dnc_people.add(person_id)
            else:
                dnc_households.add(household_id)

    def update_people(column, ids, *where, **values):
        wanted = _wanted(sorted(ids), BigInteger)
        session.execute(update(Person).where(Person.organization_id == organization_id, column == wanted.c.value, *where)
                        .values(**values))

    def update_households(ids, **values):
        wanted = _wanted(sorted(ids), BigInteger)
        session.execute(update(Household).where(Household.organization_id == organization_id,
                                                Household.id == wanted.c.value).values(**values))

    if moved_people:
        update_people(Person.id, moved_people, residence_current=False)
    if moved_households:
        update_people(Person.household_id, moved_households, Person.merged_into_id.is_(None), residence_current=False)
    if deceased:
        update_people(Person.id, deceased, deceased=True)
    if dnc_people:
        update_people(Person.id, dnc_people, do_not_contact=True)
    if wrong:
        update_households(wrong, wrong_address=True)
    if dnc_households:
        update_households(dnc_households, do_not_contact=True)
