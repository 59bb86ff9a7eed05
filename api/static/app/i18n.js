// The app's translations. Every visible string goes through t("English text"): the English text is
// the msgid, and the server's /app/messages/<locale>.json (made from the same gettext catalogs as the
// pages) maps msgids to translations. Always call t() with a plain string literal: the catalog's
// extractor reads t("...") calls from these files. Placeholders are {name}: t("{count} to send", {count}).
export const LOCALES = ["en", "es", "pl", "zh"];
export const LOCALE_NAMES = { en: "English", es: "Español", pl: "Polski", zh: "中文" };
const STORAGE_KEY = "canvass.locale";

let messages = {};
let current = "en";

export function chosenLocale() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LOCALES.includes(saved)) { return saved; }
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LOCALES.includes(base)) { return base; }
  }
  return "en";
}

export function locale() { return current; }

// Loads the catalog of `wanted` (or the saved/browser choice). A missing route, a network failure or a
// broken file leaves English: the msgids are English text.
export async function loadLocale(base, wanted) {
  current = wanted || chosenLocale();
  messages = {};
  document.documentElement.lang = current;
  if (current === "en") { return; }
  try {
    const response = await fetch(`${base}${current}.json`, { credentials: "same-origin" });
    if (response.ok) {
      const body = await response.json();
      if (body && typeof body === "object") { messages = body; }
    }
  } catch (error) {
    // offline without a cached catalog: English
  }
}

export function saveLocale(value) {
  if (LOCALES.includes(value)) { localStorage.setItem(STORAGE_KEY, value); }
}

export function t(msgid, values) {
  const text = typeof messages[msgid] === "string" && messages[msgid] ? messages[msgid] : msgid;
  if (!values) { return text; }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
