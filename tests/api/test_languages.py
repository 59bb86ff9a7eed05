"""Languages as data (issue 13): people's preferred language, the languages canvassers speak, campaign
translations, the walk list's door languages, the console's turf needs, and the app's message catalog."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from api import i18n
from canvass.campaigns.models import Campaign
from canvass.geo.households import import_households
from canvass.normalize import clean_language_tag
from canvass.people.models import Person
from canvass.turfs.languages import LanguageNeed, suggest_canvassers
from tests.api.test_web_console import sign_in
from tests.asserts import assert_error
from tests.factories import (
    auth_header,
    make_assignment,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
    tenant_row,
)

# --- the tags ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, tag", [
    ("es", "es"), ("ES", "es"), (" pl ", "pl"), ("zh-hans", "zh-Hans"), ("ZH_HANS", "zh-Hans"), ("es_mx", "es-MX"),
    ("zh-Hant-TW", "zh-Hant-TW"), ("es-419", "es-419"), ("yue", "yue"), ("", None), (None, None),
])
def test_language_tags_are_normalized(raw, tag):
    assert clean_language_tag(raw) == tag


@pytest.mark.parametrize("raw, reason", [
    ("spanish", "not a language tag"), ("xx", "not a known language"), ("zh-Hanz", "not a known script"),
    ("es-QQ", "not a known region"), ("es-MX-x-private", "not a language tag"), ("e", "not a language tag"),
    ("es" + "-MX" * 20, "not a language tag"),
])
def test_a_bad_tag_says_what_is_wrong(raw, reason):
    with pytest.raises(ValueError, match=reason):
        clean_language_tag(raw)


# --- users ---------------------------------------------------------------------------------


@pytest.fixture
def org_admin(db_session):
    org = make_org(db_session)
    admin = make_user(db_session, org=org, roles=["admin"])
    return org, admin, auth_header(db_session, admin)


def test_an_admin_sets_the_languages_a_canvasser_speaks_and_me_shows_them(client, db_session, org_admin):
    org, _admin, headers = org_admin
    made = client.post("/v1/users", headers=headers, json={
        "email": "ana@example.org", "name": "Ana", "roles": ["canvasser"], "languages": ["ES", "zh_hans", "es"]})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["languages"] == ["es", "zh-Hans"]
    user_id = made.get_json()["id"]
    changed = client.patch(f"/v1/users/{user_id}", headers=headers, json={"languages": ["pl", "en"]})
    assert changed.status_code == 200 and changed.get_json()["languages"] == ["pl", "en"]
    assert client.get(f"/v1/users/{user_id}", headers=headers).get_json()["languages"] == ["pl", "en"]
    canvasser = tenant_row(db_session, type(org_admin[1]), user_id)
    me = client.get("/v1/me", headers=auth_header(db_session, canvasser)).get_json()
    assert me["languages"] == ["pl", "en"] and me["email"] == "ana@example.org"


def test_a_bad_language_tag_for_a_user_is_a_400_and_changes_nothing(client, db_session, org_admin):
    org, _admin, headers = org_admin
    canvasser = make_user(db_session, org=org, name="Before")
    response = client.patch(f"/v1/users/{canvasser.id}", headers=headers, json={"name": "After", "languages": ["es", "klingon"]})
    assert_error(response, 400, "invalid_language_tag")
    assert "klingon" in response.get_json()["error"]["message"]
    assert response.get_json()["error"]["details"]["languages"]
    db_session.refresh(canvasser)
    assert canvasser.name == "Before" and canvasser.languages == []
    refused = client.post("/v1/users", headers=headers, json={"email": "x@example.org", "name": "X", "roles": ["canvasser"],
                                                             "languages": ["xx"]})
    assert_error(refused, 400, "invalid_language_tag")
    assert client.get("/v1/users", headers=headers).get_json() and all(
        u["email"] != "x@example.org" for u in client.get("/v1/users", headers=headers).get_json())


def test_another_organizations_user_is_404_and_keeps_its_languages(client, db_session, org_admin):
    _org, _admin, headers = org_admin
    stranger = make_user(db_session, org=make_org(db_session))
    assert_error(client.patch(f"/v1/users/{stranger.id}", headers=headers, json={"languages": ["es"]}), 404, "user_not_found")
    db_session.refresh(stranger)
    assert stranger.languages == []


def test_leads_read_languages_but_only_admins_set_them(client, db_session, org_admin):
    org, _admin, _headers = org_admin
    lead = make_user(db_session, org=org, roles=["field_lead"])
    canvasser = make_user(db_session, org=org)
    assert client.get(f"/v1/users/{canvasser.id}", headers=auth_header(db_session, lead)).get_json()["languages"] == []
    assert_error(client.patch(f"/v1/users/{canvasser.id}", headers=auth_header(db_session, lead), json={"languages": ["es"]}),
                 403, "forbidden")


# --- people and the walk list -----------------------------------------------------------------


@pytest.fixture
def walk(db_session):
    org = make_org(db_session)
    canvasser = make_user(db_session, org=org)
    organizer = make_user(db_session, org=org, roles=["organizer"])
    campaign = make_campaign(db_session, org=org, questions=(("Who will you vote for?", "choice", ["A", "B"]),))
    households = [make_household(db_session, org=org, line1=f"{2150 + 2 * i} W ROSCOE ST", lon=-87.71 + i * 0.0002)
                  for i in range(3)]
    people = [make_person(db_session, org=org, household=households[0], first_name="Ana", language="es"),
              make_person(db_session, org=org, household=households[0], first_name="Luis", language="es"),
              make_person(db_session, org=org, household=households[0], first_name="Wei", language="zh-Hans"),
              make_person(db_session, org=org, household=households[1], first_name="Jan", language="pl"),
              make_person(db_session, org=org, household=households[2], first_name="Pat")]
    turf = make_turf(db_session, org=org, households=households, name="Roscoe")
    assignment = make_assignment(db_session, org=org, turf=turf, canvasser=canvasser, campaign=campaign)
    return type("Walk", (), dict(
        org=org, canvasser=canvasser, organizer=organizer, campaign=campaign, households=households, people=people,
        turf=turf, assignment=assignment, headers=auth_header(db_session, canvasser),
        organizer_headers=auth_header(db_session, organizer), url=f"/v1/assignments/{assignment.id}/walklist",
    ))


def test_the_walk_list_shows_each_persons_and_each_doors_languages(client, walk):
    body = client.get(walk.url, headers=walk.headers).get_json()
    by_door = {stop["household_id"]: stop for stop in body["stops"]}
    first = by_door[walk.households[0].id]
    assert first["languages"] == ["es", "zh-Hans"]  # the most spoken first
    assert {p["first_name"]: p["language"] for p in first["people"]} == {"Ana": "es", "Luis": "es", "Wei": "zh-Hans"}
    assert by_door[walk.households[1].id]["languages"] == ["pl"]
    assert by_door[walk.households[2].id]["languages"] == [] and by_door[walk.households[2].id]["people"][0]["language"] is None


def test_changing_a_persons_language_changes_the_walk_lists_etag(client, walk):
    first = client.get(walk.url, headers=walk.headers)
    etag = first.headers["ETag"]
    assert client.get(walk.url, headers={**walk.headers, "If-None-Match": etag}).status_code == 304
    changed = client.patch(f"/v1/people/{walk.people[4].id}", headers=walk.organizer_headers, json={"language": "PL"})
    assert changed.status_code == 200 and changed.get_json()["language"] == "pl"
    again = client.get(walk.url, headers={**walk.headers, "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    door = next(s for s in again.get_json()["stops"] if s["household_id"] == walk.households[2].id)
    assert door["languages"] == ["pl"]
    cleared = client.patch(f"/v1/people/{walk.people[4].id}", headers=walk.organizer_headers, json={"language": ""})
    assert cleared.get_json()["language"] is None


def test_a_bad_language_for_a_person_is_a_400_and_another_organizations_person_a_404(client, db_session, walk):
    stranger = make_person(db_session, org=make_org(db_session), language="pl")
    response = client.patch(f"/v1/people/{walk.people[0].id}", headers=walk.organizer_headers,
                            json={"language": "zh-Hanz", "do_not_contact": True})
    assert_error(response, 400, "invalid_language_tag")
    row = db_session.execute(select(Person.language, Person.do_not_contact).where(Person.id == walk.people[0].id)).one()
    assert tuple(row) == ("es", False)
    assert_error(client.patch(f"/v1/people/{stranger.id}", headers=walk.organizer_headers, json={"language": "es"}),
                 404, "person_not_found")
    assert db_session.execute(select(Person.language).where(Person.id == stranger.id)).scalar_one() == "pl"


def test_the_household_csv_takes_a_language_column(db_session):
    org = make_org(db_session)
    csv = (
        "address,latitude,longitude,first_name,last_name,external_id,Preferred Language\n"
        "2150 W Roscoe St,41.9434,-87.6812,Ana,Diaz,v1,ES\n"
        "2152 W Roscoe St,41.9435,-87.6812,Jan,Nowak,v2,pl\n"
        "2154 W Roscoe St,41.9436,-87.6812,Wei,Li,v3,zh_hans\n"
        "2156 W Roscoe St,41.9437,-87.6812,Bo,Bad,v4,klingon\n"
    )
    summary = import_households(db_session, organization_id=org.id, stream=io.BytesIO(csv.encode()))
    assert summary.rows_imported == 4 and summary.rows_skipped == 0
    assert [(w.line, "language not imported" in w.reason) for w in summary.warnings] == [(5, True)]
    languages = dict(db_session.execute(select(Person.external_id, Person.language).where(Person.organization_id == org.id)).all())
    assert languages == {"v1": "es", "v2": "pl", "v3": "zh-Hans", "v4": None}
    # A re-import with the column blank keeps what is known; a new value replaces it.
    again = "address,latitude,longitude,first_name,last_name,external_id,language\n" \
            "2150 W Roscoe St,41.9434,-87.6812,Ana,Diaz,v1,\n2152 W Roscoe St,41.9435,-87.6812,Jan,Nowak,v2,es\n"
    import_households(db_session, organization_id=org.id, stream=io.BytesIO(again.encode()))
    db_session.expire_all()
    languages = dict(db_session.execute(select(Person.external_id, Person.language).where(Person.organization_id == org.id)).all())
    assert languages["v1"] == "es" and languages["v2"] == "es"


# --- campaigns ---------------------------------------------------------------------------------

QUESTIONS = [{"prompt": "Will you vote?", "kind": "yes_no"}, {"prompt": "Top issue?", "kind": "choice", "choices": ["Rent", "Schools"]}]
SPANISH = {"script": "Hola, somos vecinos.", "questions": [{"prompt": "¿Va a votar?"},
                                                            {"prompt": "¿Tema principal?", "choices": ["Renta", "Escuelas"]}]}


def test_a_campaign_holds_its_script_and_questions_in_other_languages(client, db_session, walk):
    made = client.post("/v1/campaigns", headers=walk.organizer_headers, json={
        "name": "Spring", "kind": "issue", "script": "Hi, we are neighbours.", "questions": QUESTIONS,
        "translations": {"ES": SPANISH, "zh-hans": {"script": "你好，我们是邻居。"}}})
    assert made.status_code == 201, made.get_json()
    translations = made.get_json()["translations"]
    assert set(translations) == {"es", "zh-Hans"} and translations["es"]["questions"][1]["choices"] == ["Renta", "Escuelas"]
    campaign_id = made.get_json()["id"]
    polish = {"script": "Dzień dobry, jesteśmy sąsiadami."}
    changed = client.patch(f"/v1/campaigns/{campaign_id}", headers=walk.organizer_headers,
                           json={"translations": {**translations, "pl": polish}})
    assert changed.status_code == 200 and set(changed.get_json()["translations"]) == {"es", "zh-Hans", "pl"}
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=walk.organizer_headers).get_json()["translations"]["pl"] == polish


def test_the_walk_list_carries_the_campaigns_translations_and_its_etag_follows_them(client, walk):
    etag = client.get(walk.url, headers=walk.headers).headers["ETag"]
    spanish = {"script": "Hola", "questions": [{"prompt": "¿A quién votará?", "choices": ["A", "B"]}]}
    changed = client.patch(f"/v1/campaigns/{walk.campaign.id}", headers=walk.organizer_headers, json={"translations": {"es": spanish}})
    assert changed.status_code == 200, changed.get_json()
    again = client.get(walk.url, headers={**walk.headers, "If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert again.get_json()["campaign"]["translations"] == {"es": spanish}


@pytest.mark.parametrize("translations, status, code", [
    ({"klingon": {"script": "x"}}, 400, "invalid_language_tag"),
    ({"es": {"script": "x"}, "ES": {"script": "y"}}, 422, "validation_failed"),
    ({"es": {"questions": [{"prompt": "¿Va a votar?"}]}}, 422, "validation_failed"),  # one of two questions
    ({"es": {"questions": [{"prompt": "¿Va a votar?"}, {"prompt": "¿Tema?", "choices": ["Renta"]}]}}, 422, "validation_failed"),
    ({"es": {"questions": [{"prompt": "¿Va a votar?", "choices": ["Sí"]}, SPANISH["questions"][1]]}}, 422, "validation_failed"),
    ({"es": {"questions": [{"prompt": " "}, SPANISH["questions"][1]]}}, 422, "validation_failed"),
    ({"es": {"script": "x", "title": "unknown field"}}, 422, "validation_failed"),
    ({"es": "just a string"}, 422, "validation_failed"),
])
def test_bad_translations_are_refused_and_no_campaign_is_made(client, db_session, walk, translations, status, code):
    before = db_session.execute(select(func.count()).select_from(Campaign)).scalar_one()
    response = client.post("/v1/campaigns", headers=walk.organizer_headers, json={
        "name": "Spring", "kind": "issue", "questions": QUESTIONS, "translations": translations})
    assert_error(response, status, code)
    assert db_session.execute(select(func.count()).select_from(Campaign)).scalar_one() == before


def test_replacing_questions_needs_translations_that_still_fit(client, db_session, walk):
    made = client.post("/v1/campaigns", headers=walk.organizer_headers, json={
        "name": "Spring", "kind": "issue", "questions": QUESTIONS, "translations": {"es": SPANISH}}).get_json()
    url = f"/v1/campaigns/{made['id']}"
    refused = client.patch(url, headers=walk.organizer_headers, json={"questions": QUESTIONS[:1]})
    assert_error(refused, 422, "validation_failed")
    assert len(client.get(url, headers=walk.organizer_headers).get_json()["questions"]) == 2
    fitted = client.patch(url, headers=walk.organizer_headers, json={
        "questions": QUESTIONS[:1], "translations": {"es": {"questions": SPANISH["questions"][:1]}}})
    assert fitted.status_code == 200 and fitted.get_json()["translations"]["es"]["questions"] == [{"prompt": "¿Va a votar?"}]


def test_another_organizations_campaign_is_404_for_translations(client, db_session, walk):
    stranger = make_campaign(db_session, org=make_org(db_session))
    assert_error(client.patch(f"/v1/campaigns/{stranger.id}", headers=walk.organizer_headers,
                              json={"translations": {"es": {"script": "x"}}}), 404, "campaign_not_found")
    db_session.refresh(stranger)
    assert stranger.translations == {}


# --- the console -------------------------------------------------------------------------------


def test_suggestions_rank_canvassers_by_the_doors_they_can_serve():
    needs = [LanguageNeed("es", 5), LanguageNeed("zh-Hans", 2), LanguageNeed("pl", 1)]
    people = [type("U", (), dict(id=i, name=name, languages=langs, roles=roles, is_active=active))
              for i, (name, langs, roles, active) in enumerate([
                  ("Ana", ["es-MX"], ["canvasser"], True), ("Wei", ["zh", "es"], ["canvasser"], True),
                  ("Jan", ["pl"], ["canvasser"], True), ("Off", ["es"], ["canvasser"], False),
                  ("Lead", ["es"], ["field_lead"], True), ("None", [], ["canvasser"], True)])]
    ranked = suggest_canvassers(needs, people)
    assert [(s.name, s.languages, s.doors) for s in ranked] == [
        ("Wei", ("es", "zh-Hans"), 7), ("Ana", ("es",), 5), ("Jan", ("pl",), 1)]


def test_the_console_shows_which_turfs_need_which_languages_and_who_speaks_them(client, db_session, walk):
    lead = make_user(db_session, org=walk.org, roles=["field_lead"])
    speaker = make_user(db_session, org=walk.org, name="Marta Speaks")
    speaker.languages = ["pl"]
    make_user(db_session, org=walk.org, name="Nobody Speaks")
    db_session.flush()
    sign_in(client, lead)
    listing = client.get("/console/turfs").get_data(as_text=True)
    assert "Spanish: 1 door" in listing and "Polish: 1 door" in listing and "Chinese (Simplified): 1 door" in listing
    assert "Speak them: Marta Speaks" in listing and "Nobody Speaks" not in listing
    page = client.get(f"/console/turfs/{walk.turf.id}?lang=es").get_data(as_text=True)
    assert "Idiomas en las puertas" in page and "polaco" in page and "Marta Speaks" in page


# --- the app's messages ------------------------------------------------------------------------


def test_the_apps_messages_are_public_cacheable_json_per_language(client):
    response = client.get("/app/messages/es.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert isinstance(response.get_json(), dict)
    assert "public" in response.headers["Cache-Control"] and "max-age=3600" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["Content-Security-Policy"]
    assert client.get("/app/messages/es.json", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert_error(client.get("/app/messages/xx.json"), 404, "not_found")
    assert_error(client.get("/app/messages/..%2Fes.json"), 404, "not_found")


def test_the_apps_messages_are_the_catalog_entries_from_the_apps_sources(tmp_path, monkeypatch):
    (tmp_path / "es" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "es" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#: api/static/app/js/doors.js:3\nmsgid "Not home"\nmsgstr "No está"\n\n'
        '#: api/static/app/js/doors.js:9 api/templates/x.html:2\nmsgid "Sync"\nmsgstr "Sincronizar"\n\n'
        '#: api/static/app/js/doors.js:12\n#, fuzzy\nmsgid "Refused"\nmsgstr "Rechazó"\n\n'
        '#: api/templates/console/turfs.html:5\nmsgid "Turfs"\nmsgstr "Zonas"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", tmp_path)
    i18n._app_messages.cache_clear()
    try:
        assert i18n.app_messages("es") == {"Not home": "No está", "Sync": "Sincronizar"}  # no fuzzy, no page-only
        assert i18n.app_messages("en") == {"Not home": "Not home", "Sync": "Sync", "Refused": "Refused"}
    finally:
        i18n._app_messages.cache_clear()


def test_the_pages_offer_every_language_from_the_keyboard(client):
    page = client.get("/console/sign-in?lang=pl").get_data(as_text=True)
    assert '<html lang="pl">' in page and "Zaloguj się do konsoli" in page
    for code, name in (("en", "English"), ("es", "Español"), ("zh", "中文")):
        assert f'href="/console/sign-in?lang={code}" lang="{code}" hreflang="{code}">{name}</a>' in page
    assert 'aria-current="true">Polski</a>' in page


def test_the_switcher_keeps_the_page_and_survives_odd_queries(client, db_session, walk):
    lead = make_user(db_session, org=walk.org, roles=["field_lead"])
    sign_in(client, lead)
    page = client.get(f"/console/turfs/{walk.turf.id}?turf_id=1&lang=es&x=%3Cb%3E")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The path's own turf id wins over a query parameter of that name; the rest of the query is kept.
    assert f'href="/console/turfs/{walk.turf.id}?x=%3Cb%3E&amp;lang=pl"' in html
    # A refusal shown after a form post (no CSRF token) links to a page a browser can open, not the POST-only path.
    refused = client.post(f"/console/turfs/{walk.turf.id}/assignment", data={"action": "extend"})
    assert refused.status_code == 400
    assert 'href="/console/?lang=zh"' in refused.get_data(as_text=True)
