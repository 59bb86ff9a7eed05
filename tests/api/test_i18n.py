"""The pages' language: ?lang= (remembered), then the browser's Accept-Language, then English."""
import re


def page_language(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_english_without_a_preference(client):
    assert page_language(client.get("/console/sign-in")) == "en"


def test_the_browser_language_is_followed_when_supported(client):
    assert page_language(client.get("/console/sign-in", headers={"Accept-Language": "pl-PL,pl;q=0.9"})) == "pl"
    assert page_language(client.get("/console/sign-in", headers={"Accept-Language": "fr-FR, zh;q=0.5"})) == "zh"
    assert page_language(client.get("/console/sign-in", headers={"Accept-Language": "fr-FR"})) == "en"


def test_a_chosen_language_is_remembered_over_the_browser_one(client):
    assert page_language(client.get("/console/sign-in?lang=es")) == "es"
    assert page_language(client.get("/console/sign-in", headers={"Accept-Language": "pl"})) == "es"


def test_an_unknown_language_is_ignored(client):
    assert page_language(client.get("/console/sign-in?lang=xx")) == "en"


def test_pages_in_a_negotiated_language_vary_on_it(client):
    vary = {v.strip() for v in client.get("/console/sign-in").headers["Vary"].split(",")}
    assert {"Accept-Language", "Cookie"} <= vary
