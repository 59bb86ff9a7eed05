"""Dashboard endpoints: what they show, who may see them, and the bad input they refuse."""
from __future__ import annotations

from datetime import timedelta

import pytest

from canvass.dashboards.activity import rollup_activity
from canvass.pipeline.dues import record_payment
from canvass.pipeline.rollup import refresh_pipeline
from tests.asserts import assert_error
from tests.canvass.dashboards.fieldwork import add_contact, add_pledge, at, make_ward
from tests.factories import auth_header, make_campaign, make_org, make_user, org_today

NOV = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def ward(db_session):
    ward = make_ward(db_session)
    add_contact(db_session, ward, turf=0, door=0, when=at(20, 10))
    add_contact(db_session, ward, turf=0, door=0, when=at(20, 11), talked=True)
    add_contact(db_session, ward, turf=0, door=1, when=at(21, 10), flags=["too_fast"])
    add_contact(db_session, ward, turf=1, door=0, when=at(21, 12), talked=True)
    add_pledge(db_session, ward, turf=0, door=0, when=at(20, 11))
    rollup_activity(db_session, organization_id=ward.org.id)
    return ward


def get(client, db_session, user, path, **query):
    return client.get(path, query_string=query, headers=auth_header(db_session, user))


# --- turf progress ---------------------------------------------------------------------------


def test_turf_map_is_a_feature_collection_with_progress_per_turf(client, db_session, ward):
    response = get(client, db_session, ward.lead, "/v1/dashboards/turfs", ward="33")
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and body["ward"] == "33" and body["refreshed_at"]
    west, east = body["features"]
    assert west["id"] == ward.turfs[0].id and west["geometry"]["type"] == "MultiPolygon"
    props = west["properties"]
    assert (props["door_count"], props["doors_knocked"], props["doors_talked"], props["attempts"],
            props["conversations"], props["pledges"], props["flagged"]) == (4, 2, 1, 3, 1, 1, 1)
    assert props["completion"] == 0.5
    assert props["assignment"]["canvasser"]["id"] == ward.canvassers[0].id
    assert east["properties"]["doors_knocked"] == 1


def test_turf_map_for_a_campaign_counts_only_its_work(client, db_session, ward):
    other = make_campaign(db_session, org=ward.org)
    response = get(client, db_session, ward.organizer, "/v1/dashboards/turfs", campaign_id=other.id)
    assert [f["properties"]["doors_knocked"] for f in response.get_json()["features"]] == [0, 0]


# --- summary and leaderboard ---------------------------------------------------------------


def test_summary_lists_every_day_of_the_range_with_totals(client, db_session, ward):
    response = get(client, db_session, ward.organizer, "/v1/dashboards/summary", ward="33", **NOV)
    assert response.status_code == 200
    body = response.get_json()
    assert len(body["days"]) == 30 and body["from"] == "2026-11-01" and body["timezone"] == "America/Chicago"
    by_day = {d["day"]: d for d in body["days"]}
    assert (by_day["2026-11-20"]["attempts"], by_day["2026-11-20"]["pledges"]) == (2, 1)
    assert by_day["2026-11-05"]["attempts"] == 0
    assert body["totals"] == {"attempts": 4, "doors": 3, "conversations": 2, "pledges": 1, "flagged": 1,
                              "conversation_rate": 0.5}


def test_summary_defaults_to_the_last_thirty_days(awkward_clock, client, db_session, ward):
    body = get(client, db_session, ward.organizer, "/v1/dashboards/summary").get_json()
    assert len(body["days"]) == 30
    assert body["to"] == org_today(ward.org).isoformat()
    assert body["from"] == (org_today(ward.org) - timedelta(days=29)).isoformat()


def test_leaderboard_ranks_canvassers_by_doors(client, db_session, ward):
    response = get(client, db_session, ward.lead, "/v1/dashboards/leaderboard", **NOV)
    assert response.status_code == 200
    first, second = response.get_json()["data"]
    assert first["canvasser"] == {"id": ward.canvassers[0].id, "name": "Canvasser 0"}
    assert (first["rank"], first["doors"], first["attempts"], first["conversations"], first["pledges"],
            first["flagged"], first["days_out"]) == (1, 2, 3, 1, 1, 1, 2)
    assert first["flag_rate"] == round(1 / 3, 4)
    assert (second["rank"], second["doors"]) == (2, 1)


def test_leaderboard_filters_by_campaign_and_dates(client, db_session, ward):
    body = get(client, db_session, ward.lead, "/v1/dashboards/leaderboard", campaign_id=ward.campaign.id,
               **{"from": "2026-11-21", "to": "2026-11-21"}).get_json()
    # Equal doors: the one with more conversations ranks first.
    assert [(row["canvasser"]["id"], row["attempts"]) for row in body["data"]] == [
        (ward.canvassers[1].id, 1), (ward.canvassers[0].id, 1)]


# --- follow-ups and roster -------------------------------------------------------------------


def test_follow_ups_due_are_listed_for_leads(client, db_session, ward):
    add_pledge(db_session, ward, turf=1, door=2, when=at(18, 11))  # due on the 25th
    # A fixed cut-off, not "now": the fixture's cards are dated November 2026.
    response = get(client, db_session, ward.lead, "/v1/follow-ups", due_before="2026-11-26T00:00:00+00:00")
    assert response.status_code == 200
    (row,) = response.get_json()["data"]  # the card signed on the 20th is due only on the 27th
    assert row["pledge"]["pledge_type"] == "vote" and row["person"]["id"] == ward.people[ward.doors[1][2].id].id


def test_roster_shows_standing_and_why(awkward_clock, client, db_session, ward):
    member = ward.people[ward.doors[0][0].id]
    today = org_today(ward.org)
    record_payment(db_session, organization_id=ward.org.id, person_id=member.id, amount_cents=1000,
                   paid_on=today - timedelta(days=3), method="cash", period_start=today - timedelta(days=3),
                   period_end=today + timedelta(days=27))
    refresh_pipeline(db_session, organization_id=ward.org.id, mode="full")

    response = get(client, db_session, ward.organizer, "/v1/dashboards/roster", ward="33")
    assert response.status_code == 200
    (entry,) = response.get_json()["data"]
    assert entry["person"]["id"] == member.id and entry["status"] == "member" and entry["may_vote"] is True
    assert entry["reasons"] and "dues paid through" in entry["reasons"][0]
    assert get(client, db_session, ward.organizer, "/v1/dashboards/roster", status="lapsed").get_json()["data"] == []


# --- coalition -------------------------------------------------------------------------------


def test_coalition_sees_affiliate_aggregates_but_not_their_people(client, db_session):
    coalition = make_org(db_session)
    affiliate = make_ward(db_session, org=make_org(db_session, parent=coalition))
    add_contact(db_session, affiliate, when=at(20), talked=True)
    rollup_activity(db_session, organization_id=affiliate.org.id)
    organizer = make_user(db_session, org=coalition, roles=["organizer"])

    body = get(client, db_session, organizer, "/v1/dashboards/coalition", **NOV).get_json()
    (row,) = body["affiliates"]
    assert row["organization"]["id"] == affiliate.org.id and (row["attempts"], row["conversations"]) == (1, 1)
    assert body["totals"]["attempts"] == 1
    assert "people" not in row and "data" not in body

    detail = get(client, db_session, organizer, f"/v1/dashboards/coalition/{affiliate.org.id}", **NOV)
    assert detail.status_code == 200 and detail.get_json()["totals"]["attempts"] == 1

    # The affiliate's people stay the affiliate's: the coalition can't read them or export them.
    person = affiliate.people[affiliate.doors[0][0].id]
    assert_error(get(client, db_session, organizer, f"/v1/people/{person.id}"), 404, "person_not_found")
    assert_error(get(client, db_session, organizer, "/v1/dashboards/roster", ward="33"), 404, "ward_not_found")


def test_affiliates_and_strangers_get_404_for_another_organizations_detail(client, db_session):
    coalition = make_org(db_session)
    first, second = make_org(db_session, parent=coalition), make_org(db_session, parent=coalition)
    stranger = make_org(db_session)
    for org in (first, stranger):
        user = make_user(db_session, org=org, roles=["organizer"])
        for target in (second, coalition):
            assert_error(get(client, db_session, user, f"/v1/dashboards/coalition/{target.id}"), 404,
                         "affiliate_not_found")
    lonely = make_user(db_session, org=stranger, roles=["organizer"])
    assert get(client, db_session, lonely, "/v1/dashboards/coalition").get_json()["affiliates"] == []


# --- who may look, and bad input -------------------------------------------------------------

PATHS = ["/v1/dashboards/turfs", "/v1/dashboards/summary", "/v1/dashboards/leaderboard", "/v1/follow-ups",
         "/v1/dashboards/roster", "/v1/dashboards/coalition"]


@pytest.mark.parametrize("path", PATHS)
def test_canvassers_may_not_open_dashboards(client, db_session, ward, path):
    assert_error(get(client, db_session, ward.canvassers[0], path), 403, "forbidden")


@pytest.mark.parametrize("path", PATHS)
def test_dashboards_need_a_token(client, db_session, path):
    assert_error(client.get(path), 401, "missing_token")


@pytest.mark.parametrize("path", ["/v1/dashboards/turfs", "/v1/dashboards/summary", "/v1/dashboards/leaderboard"])
def test_unknown_and_foreign_wards_and_campaigns_are_not_found(client, db_session, ward, path):
    other = make_ward(db_session, ward_name="44")
    foreign_campaign = other.campaign.id
    assert_error(get(client, db_session, ward.lead, path, ward="44"), 404, "ward_not_found")
    assert_error(get(client, db_session, ward.lead, path, ward="nowhere"), 404, "ward_not_found")
    assert_error(get(client, db_session, ward.lead, path, campaign_id=foreign_campaign), 404, "campaign_not_found")


@pytest.mark.parametrize("path", ["/v1/dashboards/summary", "/v1/dashboards/leaderboard", "/v1/dashboards/coalition"])
def test_bad_date_ranges_are_refused(client, db_session, ward, path):
    assert_error(get(client, db_session, ward.lead, path, **{"from": "2026-11-20", "to": "2026-11-01"}), 422,
                 "invalid_date_range")
    assert_error(get(client, db_session, ward.lead, path, **{"from": "2020-01-01", "to": "2026-11-01"}), 422,
                 "invalid_date_range")
    assert_error(get(client, db_session, ward.lead, path, **{"from": "yesterday"}), 422, "validation_failed")


def test_unknown_query_parameters_and_wrong_types_are_refused(client, db_session, ward):
    assert_error(get(client, db_session, ward.lead, "/v1/dashboards/turfs", wards="33"), 422, "validation_failed")
    assert_error(get(client, db_session, ward.lead, "/v1/dashboards/turfs", campaign_id="x"), 422, "validation_failed")
    assert_error(get(client, db_session, ward.lead, "/v1/dashboards/leaderboard", limit=0), 422, "validation_failed")
    assert_error(get(client, db_session, ward.lead, "/v1/dashboards/roster", status="ghost"), 422, "validation_failed")
