"""Ward funnels over HTTP: read from the precomputed tables; bad filters are clear 4xx."""
import pytest
from sqlalchemy import select

from canvass.campaigns.models import Campaign, Question
from canvass.pipeline.rollup import refresh_pipeline
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import at, conversation, forget_stale_jobs, pledge, resident, support_campaign
from tests.factories import auth_header, make_boundary, make_campaign, make_household, make_org, make_user, tenant_row


@pytest.fixture
def ward(db_session, redis_client):
    org = make_org(db_session)
    forget_stale_jobs(redis_client, org.id)
    ward = make_boundary(db_session, org=org, name="33")
    campaign, support = support_campaign(db_session, org)
    people = [resident(db_session, org, household=make_household(db_session, org=org, ward=ward)) for _ in range(4)]
    for n, person in enumerate(people):
        conversation(db_session, person=person, campaign=campaign, question=support, answer=2 + n,
                     occurred_at=at("2026-01-03 11:00"))
    pledge(db_session, person=people[3], campaign=campaign, occurred_at=at("2026-01-04 11:00"))
    refresh_pipeline(db_session, organization_id=org.id, as_of=at("2026-01-05"))
    lead = make_user(db_session, org=org, roles=["field_lead"])
    organizer = make_user(db_session, org=org, roles=["organizer"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    return {"org": org, "campaign": campaign, "lead": auth_header(db_session, lead),
            "organizer": auth_header(db_session, organizer), "canvasser": auth_header(db_session, canvasser)}


def test_a_lead_reads_the_ward_funnel(client, ward):
    response = client.get(f"/v1/funnels?ward=33&campaign_id={ward['campaign'].id}&from=2026-01-01&to=2026-01-31",
                          headers=ward["lead"])
    assert response.status_code == 200, response.get_json()
    funnel = response.get_json()
    assert funnel["ward"]["name"] == "33" and (funnel["from"], funnel["to"]) == ("2026-01-01", "2026-01-31")
    assert [(s["stage"], s["reached"], s["current"]) for s in funnel["stages"][:3]] == [
        ("contacted", 4, 2), ("supporter", 2, 1), ("pledged", 1, 1)]
    assert funnel["stages"][0]["conversion_to_next"] == 0.5
    assert funnel["stages"][1]["avg_days_in_stage"] == 1.0
    assert [d["day"] for d in funnel["days"]] == ["2026-01-03", "2026-01-04"]
    assert funnel["refreshed_at"]


@pytest.mark.parametrize("query, status, code", [
    ("ward=99", 404, "ward_not_found"),
    ("campaign_id=999999999", 404, "campaign_not_found"),
    ("campaign_id=abc", 422, "validation_failed"),
    ("from=2026-02-01&to=2026-01-01", 422, "invalid_date_range"),
    ("from=2020-01-01&to=2026-01-01", 422, "invalid_date_range"),
    ("from=yesterday", 422, "validation_failed"),
])
def test_bad_filters_are_clear_errors(client, ward, query, status, code):
    assert_error(client.get(f"/v1/funnels?{query}", headers=ward["lead"]), status, code)


def test_another_organizations_campaign_is_not_found(client, ward, db_session):
    foreign = make_campaign(db_session, org=make_org(db_session))
    assert_error(client.get(f"/v1/funnels?campaign_id={foreign.id}", headers=ward["lead"]), 404, "campaign_not_found")


def test_canvassers_do_not_read_funnels(client, ward):
    assert_error(client.get("/v1/funnels", headers=ward["canvasser"]), 403, "forbidden")


def test_an_organizer_names_the_support_question_and_a_rebuild_follows(client, ward, db_session, worker_runtime):
    campaign = make_campaign(db_session, org=ward["org"], questions=(("Vote?", "yes_no", None),
                                                                     ("Notes", "text", None)))
    yes_no, free_text = db_session.execute(select(Question).where(Question.campaign_id == campaign.id)
                                           .order_by(Question.position)).scalars().all()
    url = f"/v1/campaigns/{campaign.id}/support-question"
    assert client.put(url, headers=ward["organizer"], json={"question_id": yes_no.id}).get_json() == {
        "campaign_id": campaign.id, "question_id": yes_no.id}
    assert tenant_row(db_session, Campaign, campaign.id).settings["support_question_id"] == yes_no.id
    assert f"rebuild-pipeline-org-{ward['org'].id}" in worker_runtime.get_queue().job_ids
    assert_error(client.put(url, headers=ward["organizer"], json={"question_id": free_text.id}), 422,
                 "not_a_support_question")
    assert_error(client.put(url, headers=ward["organizer"], json={"question_id": ward["campaign"].id + 10**9}), 404,
                 "question_not_found")
    assert_error(client.put(url, headers=ward["lead"], json={"question_id": yes_no.id}), 403, "forbidden")


def test_an_admin_asks_for_a_rebuild(client, ward, db_session, worker_runtime):
    admin = auth_header(db_session, make_user(db_session, org=ward["org"], roles=["admin"]))
    response = client.post("/v1/pipeline/rebuilds", headers=admin)
    assert response.status_code == 202 and response.get_json() == {"status": "requested"}
    assert f"rebuild-pipeline-org-{ward['org'].id}" in worker_runtime.get_queue().job_ids
