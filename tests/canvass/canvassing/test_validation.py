"""The shape of uploaded items: pure checks, no database."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from canvass.campaigns.models import QUESTION_KINDS
from canvass.canvassing.validation import (
    check_answer,
    check_responses,
    echo_client_id,
    item_json_schema,
    parse_contact,
    parse_pledge,
)
from canvass.errors import ValidationFailed

CONTACT = {
    "client_id": "0b7d7c56-2d0b-42a8-96f1-1519ca4d5897",
    "assignment_id": 3,
    "household_id": 9,
    "occurred_at": "2026-11-21T14:03:00-06:00",
    "result_code": "not_home",
}


def failure(parse, raw):
    with pytest.raises(ValidationFailed) as caught:
        parse(raw)
    return caught.value


def test_a_contact_is_parsed_into_typed_values():
    item = parse_contact({**CONTACT, "location": {"lat": 41.95, "lon": -87, "accuracy_m": None}})
    assert item["client_id"] == uuid.UUID(CONTACT["client_id"])
    assert item["occurred_at"] == datetime(2026, 11, 21, 20, 3, tzinfo=UTC)
    assert item["location"] == {"lat": 41.95, "lon": -87.0, "accuracy_m": None}
    assert (item["person_id"], item["responses"], item["do_not_contact"]) == (None, None, False)


def test_errors_are_collected_per_field_and_nested_like_marshmallow():
    error = failure(parse_contact, {
        **CONTACT, "household_id": True, "location": {"lat": "north"}, "responses": None, "extra": 1,
        "occurred_at": "2026-11-21T14:03:00",
    })
    assert error.code == "validation_failed"
    assert error.details == {
        "household_id": ["Not a valid integer id."],
        "occurred_at": ["Needs a UTC offset, e.g. 2026-11-21T14:03:00-06:00."],
        "location": {"lat": ["Not a valid number."], "lon": ["Missing data for required field."]},
        "extra": ["Unknown field."],
    }


@pytest.mark.parametrize("raw", [None, [], "contact", 7])
def test_an_item_that_is_not_an_object_fails_as_a_whole(raw):
    assert failure(parse_contact, raw).details == {"_item": ["Not a valid object."]}


def test_exactly_one_of_result_code_and_responses():
    both = {**CONTACT, "responses": [{"question_id": 1, "answer": 3}]}
    neither = {key: value for key, value in CONTACT.items() if key != "result_code"}
    for raw in (both, neither):
        assert set(failure(parse_contact, raw).details) == {"result_code", "responses"}
    assert parse_contact({**neither, "responses": []})["responses"] == []  # a conversation with no answers


def test_ids_must_be_positive_and_fit_a_bigint():
    for bad in (0, -1, 2**63, 1.5):
        assert "assignment_id" in failure(parse_contact, {**CONTACT, "assignment_id": bad}).details


def test_a_pledge_needs_a_person_and_defaults_to_the_door():
    base = {"client_id": CONTACT["client_id"], "pledge_type": "vote", "occurred_at": CONTACT["occurred_at"],
            "consent_to_contact": True}
    assert "person" in failure(parse_pledge, base).details
    item = parse_pledge({**base, "person": {"first_name": "Ana", "last_name": "", "phone": "312.555.0100"}})
    assert (item["source"], item["person"]["phone"]) == ("door", "13125550100")
    assert parse_pledge({**base, "person_id": 4}, paper=True)["source"] == "paper"
    assert "source" in failure(lambda raw: parse_pledge(raw, paper=True), {**base, "person_id": 4, "source": "door"}).details
    assert "consent_to_contact" in failure(parse_pledge, {**base, "person_id": 4, "consent_to_contact": "yes"}).details


@pytest.mark.parametrize(
    "kind, choices, good, bad",
    [
        ("choice", ["Rivera", "Okafor"], ["Okafor"], ["okafor", 1, None]),
        ("scale", None, [1, 5], [0, 6, True, "3", 2.5]),
        ("yes_no", None, [True, False], ["yes", 1, 0]),
        ("text", None, ["fix the alley"], ["", "   ", 5]),
    ],
)
def test_answers_are_checked_against_their_question_kind(kind, choices, good, bad):
    assert [check_answer(kind, choices, answer) for answer in good] == [None] * len(good)
    assert all(check_answer(kind, choices, answer) for answer in bad)


def test_every_question_kind_has_an_answer_check():
    checked = {"choice": ["A", "B"], "scale": None, "yes_no": None, "text": None}
    assert set(checked) == set(QUESTION_KINDS)
    # An object answers nothing, whatever the kind.
    assert all(check_answer(kind, choices, {"x": 1}) for kind, choices in checked.items())


def test_responses_name_the_index_of_each_bad_answer():
    questions = {1: ("yes_no", None), 2: ("scale", None)}
    responses = [{"question_id": 1, "answer": True}, {"question_id": 1, "answer": False},
                 {"question_id": 2, "answer": 9}, {"question_id": 3, "answer": "x"}]
    assert check_responses(responses, questions) == {"responses": {
        "1": {"question_id": ["This question is answered twice."]},
        "2": {"answer": ["Must be a whole number from 1 to 5."]},
        "3": {"question_id": ["Not a question of this campaign."]},
    }}


def test_client_id_is_echoed_only_when_it_is_a_short_string():
    assert echo_client_id({"client_id": "abc"}) == "abc"
    assert echo_client_id({"client_id": 5}) is None
    assert echo_client_id({"client_id": "x" * 65}) is None
    assert echo_client_id(["client_id"]) is None


def test_the_documented_item_schema_is_the_one_enforced():
    schema = item_json_schema("contact")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"client_id", "assignment_id", "household_id", "occurred_at"}
    accepted = parse_contact({**CONTACT, **{name: None for name in schema["properties"]
                                            if name not in schema["required"] and name != "result_code"}})
    assert set(accepted) == set(schema["properties"])
    assert "source" not in item_json_schema("paper_pledge")["properties"]


def test_a_time_far_in_the_past_is_a_reset_phone_clock():
    old = (datetime(1999, 12, 31, tzinfo=UTC) - timedelta(days=1)).isoformat()
    assert "occurred_at" in failure(parse_contact, {**CONTACT, "occurred_at": old}).details
