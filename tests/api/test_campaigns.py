"""Campaigns: organizers create and manage them; leads read them."""
import pytest
from sqlalchemy import func, select

from canvass.audit.models import AuditEvent
from canvass.campaigns.models import PHONE_RESULT_CODES, PLEDGE_TYPES, RESULT_CODES, Campaign, Question
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, make_canvass
from tests.factories import auth_header, make_campaign, make_org, make_user, tenant_row


@pytest.fixture
def org(db_session):
    return make_org(db_session)


@pytest.fixture
def organizer_headers(db_session, org):
    return auth_header(db_session, make_user(db_session, org=org, roles=["organizer"]))


BODY = {
    "name": "Paid Sick Leave Ordinance",
    "kind": "issue",
    "script": "Hi, I'm with the 33rd Ward Working Families...",
    "questions": [
        {"prompt": "Do you support paid sick leave?", "kind": "scale"},
        {"prompt": "Which matters most?", "kind": "choice", "choices": ["Wages", "Rent", "Schools"]},
        {"prompt": "Will you sign the petition?", "kind": "yes_no"},
        {"prompt": "Anything else?", "kind": "text", "choices": None},
    ],
}


def campaign_count(session):
    return session.execute(select(func.count(Campaign.id))).scalar_one()


def test_organizer_creates_a_campaign_with_ids_for_its_questions_and_all_standard_codes(client, organizer_headers, db_session):
    response = client.post("/v1/campaigns", json=BODY, headers=organizer_headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["name"], body["kind"], body["status"], body["script"]) == (
        BODY["name"], "issue", "active", BODY["script"],
    )
    assert [(q["position"], q["prompt"], q["kind"], q["choices"]) for q in body["questions"]] == [
        (1, "Do you support paid sick leave?", "scale", None),
        (2, "Which matters most?", "choice", ["Wages", "Rent", "Schools"]),
        (3, "Will you sign the petition?", "yes_no", None),
        (4, "Anything else?", "text", None),
    ]
    assert all(isinstance(q["id"], int) for q in body["questions"])
    assert body["result_codes"] == list(RESULT_CODES)
    assert body["phone_result_codes"] == list(PHONE_RESULT_CODES)
    assert body["pledge_types"] == list(PLEDGE_TYPES)
    assert db_session.execute(select(AuditEvent).where(AuditEvent.action == "campaign.created")).scalar_one()


def test_given_code_lists_are_kept_and_an_issue_campaign_may_collect_no_pledges(client, organizer_headers):
    body = {**BODY, "result_codes": ["not_home", "refused", "not_home"], "pledge_types": [],
            "settings": {"recontact_refused": True}}
    created = client.post("/v1/campaigns", json=body, headers=organizer_headers).get_json()
    assert (created["result_codes"], created["pledge_types"], created["settings"]) == (
        ["not_home", "refused"], [], {"recontact_refused": True},
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "referendum"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"result_codes": ["not_home", "abducted"]}, "result_codes"),
        ({"result_codes": []}, "result_codes"),
        ({"pledge_types": ["money"]}, "pledge_types"),
        ({"questions": [{"prompt": "Pick", "kind": "choice"}]}, "questions"),
        ({"questions": [{"prompt": "Pick", "kind": "choice", "choices": ["Only"]}]}, "questions"),
        ({"questions": [{"prompt": "Pick", "kind": "choice", "choices": ["A", "A"]}]}, "questions"),
        ({"questions": [{"prompt": "Rate", "kind": "scale", "choices": ["1", "2"]}]}, "questions"),
        ({"questions": [{"prompt": "", "kind": "text"}]}, "questions"),
        ({"questions": [{"prompt": "Why", "kind": "essay"}]}, "questions"),
        ({"settings": {"recontact_everyone": True}}, "settings"),
        ({"settings": {"recontact_refused": "yes"}}, "settings"),
        ({"organization_id": 1}, "organization_id"),
    ],
)
def test_bad_campaign_bodies_are_422_naming_the_field_and_create_nothing(client, organizer_headers, db_session, change, field):
    response = client.post("/v1/campaigns", json={**BODY, **change}, headers=organizer_headers)
    error = assert_error(response, 422, "validation_failed")
    assert field in error["details"]
    assert campaign_count(db_session) == 0


def test_canvassers_cannot_create_campaigns_and_leads_can_only_read(client, db_session, org):
    canvasser = auth_header(db_session, make_user(db_session, org=org, roles=["canvasser"]))
    lead = auth_header(db_session, make_user(db_session, org=org, roles=["field_lead"]))
    assert_error(client.post("/v1/campaigns", json=BODY, headers=canvasser), 403, "forbidden")
    assert_error(client.post("/v1/campaigns", json=BODY, headers=lead), 403, "forbidden")
    assert_error(client.get("/v1/campaigns", headers=canvasser), 403, "forbidden")
    campaign = make_campaign(db_session, org=org)
    assert [c["id"] for c in client.get("/v1/campaigns", headers=lead).get_json()] == [campaign.id]
    assert client.get(f"/v1/campaigns/{campaign.id}", headers=lead).status_code == 200
    assert_error(client.patch(f"/v1/campaigns/{campaign.id}", json={"name": "X"}, headers=lead), 403, "forbidden")


def test_another_organizations_campaign_is_not_found(client, db_session, organizer_headers):
    foreign = make_campaign(db_session, org=make_org(db_session))
    assert_error(client.get(f"/v1/campaigns/{foreign.id}", headers=organizer_headers), 404, "campaign_not_found")
    response = client.patch(f"/v1/campaigns/{foreign.id}", json={"name": "Mine now"}, headers=organizer_headers)
    assert_error(response, 404, "campaign_not_found")
    assert client.get("/v1/campaigns", headers=organizer_headers).get_json() == []


def test_organizer_archives_a_campaign_and_lists_by_status(client, db_session, org, organizer_headers):
    kept, archived = make_campaign(db_session, org=org), make_campaign(db_session, org=org)
    response = client.patch(f"/v1/campaigns/{archived.id}", json={"status": "archived", "settings": {"recontact_refused": True}},
                            headers=organizer_headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], response.get_json()["settings"]) == ("archived", {"recontact_refused": True})
    active = client.get("/v1/campaigns", query_string={"status": "active"}, headers=organizer_headers).get_json()
    assert [c["id"] for c in active] == [kept.id]
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "campaign.updated")).scalar_one()
    assert audit.details["status"] == ["active", "archived"]


def test_questions_are_replaced_until_contacts_answer_them(client, db_session):
    canvass = make_canvass(db_session)
    headers = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))
    url = f"/v1/campaigns/{canvass.campaign.id}"
    replaced = client.patch(url, json={"questions": [{"prompt": "Rent too high?", "kind": "yes_no"}]}, headers=headers)
    assert [q["prompt"] for q in replaced.get_json()["questions"]] == ["Rent too high?"]
    client.post("/v1/sync", json={"contacts": [contact(canvass)]}, headers=canvass.headers)
    response = client.patch(url, json={"questions": [], "name": "Renamed"}, headers=headers)
    assert_error(response, 409, "campaign_in_use")
    db_session.expire_all()
    assert tenant_row(db_session, Campaign, canvass.campaign.id).name != "Renamed"
    assert db_session.execute(
        select(func.count(Question.id)).where(Question.campaign_id == canvass.campaign.id)
    ).scalar_one() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "deleted"}, "status"),
        ({"name": ""}, "name"),
        ({"pledge_types": ["vote", "bribe"]}, "pledge_types"),
        ({"phone_result_codes": []}, "phone_result_codes"),
        ({"settings": {"recontact_refused": 1}}, "settings"),
        ({"kind": "issue"}, "kind"),  # the kind of a campaign is fixed
    ],
)
def test_bad_campaign_updates_are_422_and_change_nothing(client, db_session, org, organizer_headers, body, field):
    campaign = make_campaign(db_session, org=org)
    before = (campaign.name, campaign.status, list(campaign.pledge_types), dict(campaign.settings))
    error = assert_error(client.patch(f"/v1/campaigns/{campaign.id}", json=body, headers=organizer_headers), 422,
                         "validation_failed")
    assert field in error["details"]
    db_session.refresh(campaign)
    assert (campaign.name, campaign.status, list(campaign.pledge_types), dict(campaign.settings)) == before


def test_campaign_list_rejects_an_unknown_status(client, organizer_headers):
    assert_error(client.get("/v1/campaigns", query_string={"status": "gone"}, headers=organizer_headers), 422,
                 "validation_failed")
