"""The language of the web pages (console, dashboard) and of the canvasser app's messages.

gettext catalogs live in api/translations/<locale>/LC_MESSAGES/messages.po (Flask-Babel); English is
the source language, so an untranslated message shows in English. Templates mark text with
`{{ _("...") }}`, Python with `gettext`/`lazy_gettext` from flask_babel.

The locale is chosen per request: `?lang=xx` (remembered in the session), then the session's choice,
then the browser's Accept-Language, then English.
"""
from __future__ import annotations

from flask import Flask, Response, g, request, session
from flask_babel import Babel, get_locale, refresh

SUPPORTED_LOCALES = ("en", "es", "pl", "zh")
DEFAULT_LOCALE = "en"
LOCALE_NAMES = {"en": "English", "es": "Español", "pl": "Polski", "zh": "中文"}


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


def install_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_domain="messages", default_translation_directories="translations")

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
        return {"current_locale": str(get_locale() or DEFAULT_LOCALE), "locale_names": LOCALE_NAMES}
