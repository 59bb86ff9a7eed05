// The app's translations. Every visible string goes through the function t below, called with the
// English text as a double-quoted literal (the msgid; the catalog's extractor reads those calls from
// these files, so never a variable or a template string). The server's /app/messages/<locale>.json,
// made from the same gettext catalogs as the pages, maps msgids to translations. Placeholders are
// {name} in the msgid, filled from the second argument.
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
