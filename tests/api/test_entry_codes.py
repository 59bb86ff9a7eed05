"""GET /v1/entry-codes/{code}: a lead keying a paper walk list back in finds the door a code names, in their
organization only; a typo is 422, a code of no door here 404, never another door."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from canvass.turfs.entry_codes import ALPHABET, encode_entry_code
from tests.asserts import assert_error
from tests.canvass.dashboards.fieldwork import make_ward
from tests.factories import auth_header, make_assignment, make_campaign, make_turf, make_user


@pytest.fixture
def ward(db_session):
    return make_ward(db_session, doors_per_turf=3)


def lookup(client, db_session, user, code, **query):
    return client.get(f"/v1/entry-codes/{code}", query_string=query, headers=auth_header(db_session, user))


def swap(code: str) -> str:
    """Two neighbouring different characters swapped."""
    i = next(i for i in range(len(code) - 1) if code[i] != code[i + 1])
    return code[:i] + code[i + 1] + code[i] + code[i + 2:]


def typo(code: str) -> str:
    replacement = ALPHABET[(ALPHABET.index(code[3]) + 1) % len(ALPHABET)]
    return code[:3] + replacement + code[4:]


def test_a_code_resolves_to_its_door_turf_and_the_lease_it_was_printed_for(client, db_session, ward):
    door = ward.doors[0][1]
    response = lookup(client, db_session, ward.lead, encode_entry_code(door.id))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["code"] == encode_entry_code(door.id) and body["household_id"] == door.id
    assert set(body["address"]) == {"line1", "unit", "city", "state", "zip"} and body["address"]["city"] == "Chicago"
    assert body["people"] == [{"id": ward.people[door.id].id, "first_name": "Pat",
                               "last_name": ward.people[door.id].last_name}]
    assert body["turfs"] == [{"id": ward.turfs[0].id, "name": "Turf 1 West", "status": "checked_out"}]
    assert body["assignment"]["id"] == ward.assignments[0].id
    assert body["assignment"]["canvasser"]["name"] == "Canvasser 0"
    assert [a["id"] for a in body["assignments"]] == [ward.assignments[0].id]
    assert "client_id" not in body


def test_typed_by_hand_lower_case_with_a_dash_it_still_resolves(client, db_session, ward):
    code = encode_entry_code(ward.doors[0][0].id)
    response = lookup(client, db_session, ward.organizer, f"{code[:4].lower()}-{code[4:].lower()}")
    assert response.status_code == 200 and response.get_json()["household_id"] == ward.doors[0][0].id


def test_with_the_sheet_id_it_gives_the_rows_client_id_the_same_every_time(client, db_session, ward):
    door, sheet = ward.doors[0][2], uuid.uuid4()
    first = lookup(client, db_session, ward.lead, encode_entry_code(door.id), sheet=str(sheet)).get_json()
    again = lookup(client, db_session, ward.lead, encode_entry_code(door.id), sheet=str(sheet)).get_json()
    assert first["client_id"] == again["client_id"] == str(uuid.uuid5(sheet, str(door.id)))


def test_the_sheets_assignment_number_picks_the_lease_among_several(client, db_session, ward):
    door = ward.doors[0][0]
    other = make_campaign(db_session, org=ward.org)
    overlapping = make_turf(db_session, org=ward.org, households=[door], name="Drawn over")
    second = make_assignment(db_session, org=ward.org, turf=overlapping, campaign=other,
                             canvasser=ward.canvassers[1])
    code = encode_entry_code(door.id)
    body = lookup(client, db_session, ward.lead, code).get_json()
    assert body["assignment"] is None  # two live leases (one per campaign): the sheet's number says which
    assert sorted(a["id"] for a in body["assignments"]) == sorted([ward.assignments[0].id, second.id])
    chosen = lookup(client, db_session, ward.lead, code, assignment_id=second.id).get_json()
    assert chosen["assignment"]["id"] == second.id and chosen["assignment"]["campaign"]["id"] == other.id


def test_an_ended_lease_is_listed_after_the_live_one(client, db_session, ward):
    door = ward.doors[0][0]
    now = datetime.now(UTC)
    old = make_assignment(db_session, org=ward.org, turf=make_turf(db_session, org=ward.org, households=[door]),
                          campaign=ward.campaign, canvasser=ward.canvassers[1], status="expired",
                          leased_at=now - timedelta(days=30), leased_until=now - timedelta(days=27))
    body = lookup(client, db_session, ward.lead, encode_entry_code(door.id)).get_json()
    assert [a["id"] for a in body["assignments"]] == [ward.assignments[0].id, old.id]
    assert body["assignment"]["id"] == ward.assignments[0].id


@pytest.mark.parametrize("mangle, reason", [
    (typo, "check character"),
    (swap, "check character"),
    (lambda code: code[:7], "8 characters"),
    (lambda code: "0" + code[1:], "characters not used"),
    (lambda code: "I" + code[1:], "characters not used"),
])
def test_a_typo_or_a_malformed_code_is_422_entry_code_invalid(client, db_session, ward, mangle, reason):
    code = encode_entry_code(ward.doors[0][0].id)
    error = assert_error(lookup(client, db_session, ward.lead, mangle(code)), 422, "entry_code_invalid")
    assert reason in error["details"]["code"][0]
    if reason == "check character":
        assert "typo" in error["message"]


def test_a_valid_code_of_no_door_is_404(client, db_session, ward):
    assert_error(lookup(client, db_session, ward.lead, encode_entry_code(10 ** 12)), 404, "entry_code_not_found")


def test_another_organizations_code_is_404_never_another_door(client, db_session, ward):
    stranger = make_ward(db_session)
    code = encode_entry_code(stranger.doors[0][0].id)
    assert lookup(client, db_session, stranger.lead, code).status_code == 200
    assert_error(lookup(client, db_session, ward.lead, code), 404, "entry_code_not_found")
    # Nor does naming the stranger's assignment help.
    assert_error(lookup(client, db_session, ward.lead, encode_entry_code(ward.doors[0][0].id),
                        assignment_id=stranger.assignments[0].id), 404, "assignment_not_found")


def test_a_door_not_on_the_named_assignment_is_422(client, db_session, ward):
    code = encode_entry_code(ward.doors[0][0].id)
    error = assert_error(lookup(client, db_session, ward.lead, code, assignment_id=ward.assignments[1].id),
                         422, "entry_code_not_on_assignment")
    assert "assignment_id" in error["details"]


@pytest.mark.parametrize("query, field", [({"assignment_id": "x"}, "assignment_id"), ({"sheet": "nope"}, "sheet"),
                                          ({"assignment_id": "0"}, "assignment_id")])
def test_bad_query_parameters_are_422(client, db_session, ward, query, field):
    error = assert_error(lookup(client, db_session, ward.lead, encode_entry_code(ward.doors[0][0].id), **query),
                         422, "validation_failed")
    assert field in str(error["details"])


@pytest.mark.parametrize("roles", [["canvasser"], ["admin"]])
def test_only_field_leads_and_organizers_look_codes_up(client, db_session, ward, roles):
    user = make_user(db_session, org=ward.org, roles=roles)
    assert_error(lookup(client, db_session, user, encode_entry_code(ward.doors[0][0].id)), 403, "forbidden")
    response = client.get(f"/v1/entry-codes/{encode_entry_code(ward.doors[0][0].id)}")
    assert_error(response, 401, "missing_token")
