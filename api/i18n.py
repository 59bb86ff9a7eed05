"""The language of the web pages (console, dashboard) and of the canvasser app's messages.

gettext catalogs live in api/translations/<locale>/LC_MESSAGES/messages.po (Flask-Babel), compiled
to the messages.mo next to them by `make messages` (both committed; tests/test_translations.py
fails when a message is missing, untranslated or fuzzy, or a .mo is behind its .po). English is the
source language. Templates mark text with `{{ _("...") }}`, Python with `gettext`/`lazy_gettext`
from flask_babel, the canvasser app's scripts with `t("...")`.

The locale is chosen per request: `?lang=xx` (remembered in the session), then the session's choice,
then the browser's Accept-Language, then English.

The app reads its messages as JSON from `GET /app/messages/<locale>.json`: {msgid: msgstr} for the
messages extracted from api/static/app (the catalog entries whose source is there), from the same
catalogs, so there is one source of truth and one missing-key test.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, Response, abort, g, request, session, url_for
from flask_babel import Babel, get_locale, refresh
from werkzeug.routing import BuildError

SUPPORTED_LOCALES = ("en", "es", "pl", "zh")
DEFAULT_LOCALE = "en"
LOCALE_NAMES = {"en": "English", "es": "Español", "pl": "Polski", "zh": "中文"}
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
APP_SOURCES = "api/static/app/"  # catalog locations of the canvasser app's messages
MESSAGES_MAX_AGE = 3600
HOME_ENDPOINT = "console.home"  # where the switcher leads from a page a link cannot reopen

blp = Blueprint("i18n", __name__)


def select_locale() -> str:
    g.locale_negotiated = True
    asked = request.args.get("lang")
    if asked in SUPPORTED_LOCALES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in SUPPORTED_LOCALES:
        return remembered
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def app_messages(locale: str) -> dict[str, str]:
    """The canvasser app's {msgid: msgstr} in `locale` (English: each message itself)."""
    return dict(_app_messages(locale))


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def _app_messages(locale: str) -> tuple[tuple[str, str], ...]:
    # English has no catalog of its own: the msgids are English, so read them from any catalog.
    source = "es" if locale == DEFAULT_LOCALE else locale
    with open(TRANSLATIONS_DIR / source / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=source)
    pairs = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue  # the header, and plural forms (the app's t() has none)
        if not any(path.startswith(APP_SOURCES) for path, _line in message.locations):
            continue
        if locale == DEFAULT_LOCALE:
            pairs.append((message.id, message.id))
        elif message.string and not message.fuzzy:
            pairs.append((message.id, message.string))
    return tuple(sorted(pairs))


@blp.get("/app/messages/<locale>.json")
def messages_json(locale: str) -> Response:
    """Public and cacheable: the messages are the same for everyone and change only with a release."""
    if locale not in SUPPORTED_LOCALES:
        abort(404)
    body = json.dumps(app_messages(locale), ensure_ascii=False, sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = MESSAGES_MAX_AGE
    return response.make_conditional(request)


def _switch_url(code: str) -> str:
    """This page (its path and query) with ?lang=code; a page only reached by a form post (an error shown
    after a POST) switches on the console's home page instead, which a plain link can open."""
    rule = request.url_rule
    if rule is not None and request.endpoint and "GET" in (rule.methods or ()):
        values = {k: v for k, v in request.args.items() if k != "lang"}
        values.update(request.view_args or {})  # the path's own values win over a query parameter of that name
        try:
            return url_for(request.endpoint, **values, lang=code)
        except BuildError:
            pass
    try:
        return url_for(HOME_ENDPOINT, lang=code)
    except BuildError:
        return f"/?lang={code}"


def language_links() -> list[dict]:
    """The switcher's links: this page in each language (?lang= replaces any earlier choice)."""
    current = str(get_locale() or DEFAULT_LOCALE)
    return [{"code": code, "name": LOCALE_NAMES[code], "href": _switch_url(code), "current": code == current}
            for code in SUPPORTED_LOCALES]


def language_name(tag: str | None) -> str:
    """A BCP 47 tag's name in the page's language ("zh-Hans" -> "chino (simplificado)" in Spanish)."""
    if not tag:
        return ""
    page = Locale.parse(str(get_locale() or DEFAULT_LOCALE))
    try:
        return Locale.parse(tag, sep="-").get_display_name(page) or tag
    except (ValueError, UnknownLocaleError):
        return page.languages.get(tag.split("-", 1)[0].lower(), tag)


def install_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_domain="messages", default_translation_directories="translations")
    app.register_blueprint(blp)
    app.jinja_env.filters["language_name"] = language_name

    # Flask-Babel caches the locale on the app context, which a test or CLI may keep across requests.
    app.before_request(refresh)

    @app.after_request
    def _vary_on_language(response: Response) -> Response:
        # A page in the visitor's language differs by Accept-Language (and, through the session, Cookie,
        # which Flask adds itself when the session was read): shared caches must keep them apart.
        if g.get("locale_negotiated"):
            response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def _locale_context() -> dict:
        return {"current_locale": str(get_locale() or DEFAULT_LOCALE), "locale_names": LOCALE_NAMES,
                "language_links": language_links, "language_name": language_name}
