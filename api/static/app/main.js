// The canvasser app: sign in, my assignments, the walk list (list and map), recording at the door,
// and the outbox with its sync. Works offline once a walk list is downloaded (docs/app.md).
import { request, ApiError } from "./api.js";
import { LOCALE_NAMES, LOCALES, loadLocale, locale, saveLocale, t } from "./i18n.js";
import * as store from "./store.js";
import { field, h, isoNow } from "./ui.js";
// The sync (./sync.js) and the map (./map.js) are imported when first needed: the first screen on a
// slow connection waits for fewer files (docs/app.md, the budget).

const root = document.getElementById("app");
const view = document.getElementById("view");
const config = root.dataset;
const RETRY_SECONDS = [5, 15, 30, 60, 120];

const state = {
  session: null, // {token, user}; token is null after a 401 (the user stays known, so recording goes on)
  deviceId: null,
  syncing: false,
  lastSync: null, // {ok, totals, error}
  retries: 0,
  retryTimer: null,
  notice: null,
};

// Labels of the standard codes, in the chosen language; a campaign's own codes show the server's label.
function resultLabels() {
  return {
    not_home: t("Not home"), refused: t("Refused"), moved: t("Moved"), inaccessible: t("Inaccessible"),
    deceased: t("Deceased"), wrong_address: t("Wrong address"), language_barrier: t("Language barrier"),
    come_back: t("Come back later"), canvassed: t("Talked"),
  };
}
function pledgeLabels() {
  return {
    vote: t("Pledge to vote"), member: t("Become a member"), dues: t("Pay dues"), volunteer: t("Volunteer"),
    issue: t("Support the issue"),
  };
}

function resultLabel(code, fallback) { return resultLabels()[code] || fallback || code; }
function pledgeLabel(code, fallback) { return pledgeLabels()[code] || fallback || code; }

// ---- session ------------------------------------------------------------------------------------

async function loadSession() {
  state.session = (await store.getValue("session")) || null;
  state.deviceId = await store.getValue("device_id");
  if (!state.deviceId) {
    state.deviceId = crypto.randomUUID();
    await store.setValue("device_id", state.deviceId);
  }
}

async function saveSession(session) {
  state.session = session;
  if (session) { await store.setValue("session", session); } else { await store.deleteValue("session"); }
}

function user() { return state.session && state.session.user; }
function token() { return state.session && state.session.token; }

async function sessionExpired() {
  if (state.session && state.session.token) {
    await saveSession({ ...state.session, token: null });
  }
  state.notice = t("Your sign-in has expired. Sign in again to send your work; nothing recorded is lost.");
  if (!location.hash.startsWith("#/sign-in")) { location.hash = "#/sign-in"; } else { render(); }
}

// ---- header: connection, unsynced count, language ---------------------------------------------

const header = root.querySelector(".bar");
const status = h("span", { class: "net", role: "status" });
const countLink = h("a", { href: "#/sync", class: "count", id: "unsynced" });
const languageSelect = h("select", { id: "language", "aria-label": t("Language") },
  LOCALES.map((code) => h("option", { value: code }, LOCALE_NAMES[code])));
languageSelect.addEventListener("change", async () => {
  saveLocale(languageSelect.value);
  await loadLocale(config.messages, languageSelect.value);
  location.reload();
});
header.append(status, countLink, languageSelect);

async function refreshHeader() {
  languageSelect.value = locale();
  status.textContent = navigator.onLine ? t("Online") : t("Offline");
  status.dataset.online = String(navigator.onLine);
  const me = user();
  const count = me ? await store.countQueued(me.id) : 0;
  countLink.replaceChildren(t("To send"), " ", h("span", { id: "unsynced-count" }, String(count)));
  countLink.dataset.count = String(count);
  countLink.setAttribute("aria-label", t("{count} items not yet sent", { count }));
  return count;
}

// ---- sync ---------------------------------------------------------------------------------------

function scheduleRetry() {
  clearTimeout(state.retryTimer);
  const seconds = RETRY_SECONDS[Math.min(state.retries, RETRY_SECONDS.length - 1)];
  state.retries += 1;
  state.retryTimer = setTimeout(() => syncNow(), seconds * 1000);
}

async function syncNow() {
  clearTimeout(state.retryTimer);
  if (state.syncing || !token()) { return; }
  state.syncing = true;
  root.dataset.syncing = "true";
  try {
    const { syncOutbox } = await import("./sync.js");
    const totals = await syncOutbox(state.session, state.deviceId, () => refreshHeader());
    state.lastSync = { ok: true, totals, at: new Date() };
    state.retries = 0;
  } catch (error) {
    state.lastSync = { ok: false, error, totals: error.totals, at: new Date() };
    if (error instanceof ApiError && error.needsSignIn) {
      await sessionExpired();
    } else {
      scheduleRetry();
    }
  } finally {
    state.syncing = false;
    root.dataset.syncing = "false";
    root.dataset.syncRuns = String(Number(root.dataset.syncRuns || 0) + 1);
    await refreshHeader();
    if (location.hash.startsWith("#/sync")) { render(); }
  }
}

function syncSoon() { if (navigator.onLine) { syncNow(); } }

window.addEventListener("online", () => { refreshHeader(); state.retries = 0; syncNow(); });
window.addEventListener("offline", () => refreshHeader());

// ---- views --------------------------------------------------------------------------------------

function page(title, ...content) {
  const heading = h("h1", { tabindex: "-1" }, title);
  const notice = state.notice ? h("p", { class: "notice", role: "alert" }, state.notice) : null;
  view.replaceChildren(...[heading, notice, ...content].flat().filter(Boolean));
  heading.focus();
}

function signInView() {
  const previous = user();
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true,
                              value: previous ? previous.email : "" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const message = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit" }, t("Sign in"));
  const form = h("form", { class: "card", novalidate: false }, field(t("E-mail"), email), field(t("Password"), password),
    message, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "";
    try {
      const answer = await request("/v1/auth/token", { method: "POST",
        body: { email: email.value.trim(), password: password.value } });
      await saveSession({ token: answer.data.access_token, user: answer.data.user });
      state.notice = null;
      state.retries = 0;
      location.hash = "#/";
      syncSoon();
    } catch (error) {
      message.textContent = error.status === 401 ? t("Wrong e-mail or password.")
        : error.status === 429 ? t("Too many attempts. Try again later.")
          : error.offline ? t("You are offline: signing in needs a connection.") : t("The server could not sign you in. Try again.");
      button.disabled = false;
    }
  });
  page(t("Sign in"), form);
  if (previous) { password.focus(); }
}

async function loadAssignments() {
  const me = user();
  const key = `assignments:${me.id}`;
  if (token() && navigator.onLine) {
    try {
      const answer = await request("/v1/me/assignments", { token: token() });
      await store.setValue(key, answer.data);
      return { list: answer.data, fresh: true };
    } catch (error) {
      if (error.needsSignIn) { await sessionExpired(); }
    }
  }
  return { list: (await store.getValue(key)) || [], fresh: false };
}

// Downloads (or revalidates with the ETag) one walk list; falls back to the copy on the phone.
async function loadWalklist(assignmentId) {
  const me = user();
  const cached = await store.getWalklist(me.id, assignmentId);
  if (token() && navigator.onLine) {
    try {
      const answer = await request(`/v1/assignments/${assignmentId}/walklist`,
        { token: token(), etag: cached && cached.etag });
      if (answer.status === 304 && cached) { return { walklist: cached.document, fresh: true }; }
      if (answer.data) {
        await store.putWalklist(me.id, assignmentId, answer.etag, answer.data);
        return { walklist: answer.data, fresh: true };
      }
    } catch (error) {
      if (error.needsSignIn) { await sessionExpired(); } else if (error.status === 404) {
        return { walklist: cached && cached.document, ended: true };
      }
    }
  }
  return { walklist: cached && cached.document, fresh: false };
}

async function assignmentsView() {
  const { list, fresh } = await loadAssignments();
  const items = list.map((a) => h("li", { class: "card" },
    h("a", { href: `#/walk/${a.id}`, class: "big", dataset: { assignment: a.id } }, a.turf.name),
    h("p", {}, a.campaign.name, " · ", t("{count} doors", { count: a.turf.door_count }),
      a.turf.ward ? " · " + t("Ward {ward}", { ward: a.turf.ward }) : ""),
    h("p", { class: "hint" }, t("Lease until {time}", { time: new Date(a.leased_until).toLocaleString(locale()) }))));
  page(t("My assignments"),
    fresh ? null : h("p", { class: "hint" }, t("Offline: showing the assignments saved on this phone.")),
    items.length ? h("ul", { class: "plain" }, items) : h("p", {}, t("You have no assignments right now.")),
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: signOut }, t("Sign out"))));
  // Keep every assigned walk list on the phone, ready for a dead zone.
  if (fresh) { for (const a of list) { await loadWalklist(a.id); } }
}

async function signOut() {
  const me = user();
  const waiting = me ? await store.countQueued(me.id) : 0;
  if (waiting && !window.confirm(t("{count} items are not sent yet. They stay on this phone and are sent when you sign in again. Sign out?", { count: waiting }))) {
    return;
  }
  if (token() && navigator.onLine) {
    try { await request("/v1/auth/token", { method: "DELETE", token: token() }); } catch (error) { /* revoked or offline */ }
  }
  await saveSession(null);
  location.hash = "#/sign-in";
}

function householdStatus(items) {
  const byHousehold = new Map();
  for (const item of items) {
    if (item.household_id && !byHousehold.has(item.household_id)) { byHousehold.set(item.household_id, item); }
  }
  return byHousehold;
}

function stateText(item) {
  if (item.state === "queued") { return t("waiting to send"); }
  if (item.state === "rejected") { return t("refused by the server"); }
  return t("sent");
}

function languageBadge(code) {
  if (!code) { return null; }
  const speaks = (user().languages || []).map((l) => String(l).toLowerCase().split("-")[0]);
  const match = speaks.includes(String(code).toLowerCase().split("-")[0]);
  return h("span", { class: match ? "lang match" : "lang", title: t("Language at this door") },
    t("Language") + ": " + code);
}

function doorLanguage(stop) {
  if (stop.languages && stop.languages.length) { return stop.languages[0]; }
  if (stop.language) { return stop.language; }
  const spoken = (stop.people || []).map((p) => p.language).filter(Boolean);
  return spoken.length ? spoken[0] : null;
}

// The campaign's script and questions in the door's language (exact tag, else the same language:
// `zh` finds `zh-Hans`), or null when the campaign has none or the canvasser reads the original.
function doorTranslation(campaign, code) {
  const translations = campaign.translations || {};
  if (!code) { return null; }
  const primary = (tag) => String(tag).toLowerCase().split("-")[0];
  const tag = translations[code] ? code : Object.keys(translations).find((k) => primary(k) === primary(code));
  return tag ? { tag, ...translations[tag] } : null;
}

function addressLine(stop) {
  const a = stop.address || {};
  return [a.line1, a.unit].filter(Boolean).join(" ");
}

async function walkView(assignmentId, mode) {
  const { walklist, fresh, ended } = await loadWalklist(assignmentId);
  if (!walklist) {
    page(t("Walk list"), h("p", {}, t("This walk list is not on the phone yet. Connect to download it.")),
      h("p", {}, h("a", { href: "#/" }, t("Back to my assignments"))));
    return;
  }
  const recorded = householdStatus(await store.itemsOf(user().id));
  const tabs = h("nav", { class: "tabs", "aria-label": t("Walk list views") },
    h("a", { href: `#/walk/${assignmentId}`, "aria-current": mode === "list" ? "page" : null }, t("List")),
    h("a", { href: `#/walk/${assignmentId}/map`, "aria-current": mode === "map" ? "page" : null }, t("Map")));
  const header = [
    h("p", {}, walklist.campaign.name),
    ended ? h("p", { class: "notice" }, t("This assignment has ended; what you recorded during the lease is still accepted.")) : null,
    fresh ? null : h("p", { class: "hint", dataset: { offline: "true" } }, t("Offline: using the walk list saved on this phone.")),
    tabs,
  ];
  if (mode === "map") {
    const mapEl = h("div", { id: "map", class: "map", role: "region", "aria-label": t("Map of the turf") });
    page(walklist.turf.name, ...header, mapEl,
      h("p", { class: "hint" }, t("The list has the same doors, in walking order, for the keyboard.")));
    const { showMap } = await import("./map.js");
    await showMap(mapEl, walklist, { tileUrl: config.tileUrl, attribution: config.attribution, leafletJs: config.leafletJs,
      leafletCss: config.leafletCss, doorHref: (stop) => `#/door/${assignmentId}/${stop.household_id}`,
      label: (stop) => `${stop.seq}. ${addressLine(stop)}` });
    return;
  }
  const stops = walklist.stops.map((stop) => {
    const mine = recorded.get(stop.household_id);
    const names = (stop.people || []).map((p) => `${p.first_name || ""} ${p.last_name || ""}`.trim()).filter(Boolean);
    const result = mine ? `${resultLabel(mine.result_code || (mine.kind === "pledge" ? "" : "canvassed"), mine.kind === "pledge" ? t("Pledge card") : "")} (${stateText(mine)})`
      : stop.last_result ? t("Last time: {result}", { result: resultLabel(stop.last_result) }) : "";
    return h("li", { dataset: { household: stop.household_id, recorded: mine ? mine.state : "" } },
      h("a", { href: `#/door/${assignmentId}/${stop.household_id}`, class: "stop" },
        h("span", { class: "seq" }, String(stop.seq)),
        h("span", { class: "addr" }, addressLine(stop), names.length ? h("span", { class: "names" }, names.join(", ")) : null),
        result ? h("span", { class: "result" }, result) : null),
      languageBadge(doorLanguage(stop)));
  });
  page(walklist.turf.name, ...header, h("ol", { class: "stops", id: "stops" }, stops));
  const next = view.querySelector(`li[data-household="${sessionStorage.getItem("canvass.lastDoor")}"]`);
  if (next && next.nextElementSibling) { next.nextElementSibling.querySelector("a").focus(); }
}

function personChoice(stop, allowNew) {
  const select = h("select", {},
    h("option", { value: "" }, allowNew ? t("Someone not listed") : t("Nobody in particular")),
    (stop.people || []).map((p) => h("option", { value: p.id }, `${p.first_name || ""} ${p.last_name || ""}`.trim())));
  return select;
}

// `translated`: the question in the door's language ({prompt, choices}), shown beside the original;
// the answer sent is always the campaign's own choice.
function answerControl(question, translated) {
  const name = `q-${question.id}`;
  const prompt = translated && translated.prompt ? `${question.prompt} / ${translated.prompt}` : question.prompt;
  const none = h("label", { class: "choice" }, h("input", { type: "radio", name, value: "", checked: true }), t("No answer"));
  const radios = (values) => h("fieldset", { class: "question" }, h("legend", {}, prompt),
    none, values.map(([value, label]) => h("label", { class: "choice" }, h("input", { type: "radio", name, value }), label)));
  if (question.kind === "yes_no") { return radios([["true", t("Yes")], ["false", t("No")]]); }
  if (question.kind === "scale") { return radios([1, 2, 3, 4, 5].map((n) => [String(n), String(n)])); }
  if (question.kind === "choice") {
    const local = (translated && translated.choices) || [];
    return radios((question.choices || []).map((c, i) => [c, local[i] && local[i] !== c ? `${c} / ${local[i]}` : c]));
  }
  const text = h("textarea", { name, rows: 2, maxlength: 2000 });
  return field(prompt, text);
}

function readAnswers(form, questions) {
  const responses = [];
  for (const question of questions) {
    const name = `q-${question.id}`;
    if (question.kind === "text") {
      const value = form.elements[name].value.trim();
      if (value) { responses.push({ question_id: question.id, answer: value }); }
      continue;
    }
    const picked = form.querySelector(`input[name="${name}"]:checked`);
    if (!picked || picked.value === "") { continue; }
    const answer = question.kind === "yes_no" ? picked.value === "true"
      : question.kind === "scale" ? Number(picked.value) : picked.value;
    responses.push({ question_id: question.id, answer });
  }
  return responses;
}

async function record(kind, payload, stop, label) {
  const me = user();
  await store.enqueue({ client_id: payload.client_id, kind, user_id: me.id, payload, label,
    household_id: payload.household_id || null, assignment_id: payload.assignment_id || null,
    result_code: payload.result_code || null });
  sessionStorage.setItem("canvass.lastDoor", String(stop.household_id));
  await refreshHeader();
  syncSoon();
}

async function doorView(assignmentId, householdId) {
  const { walklist } = await loadWalklist(assignmentId);
  const stop = walklist && walklist.stops.find((s) => String(s.household_id) === String(householdId));
  if (!stop) {
    page(t("Door"), h("p", {}, t("This door is not on the walk list saved on this phone.")),
      h("p", {}, h("a", { href: `#/walk/${assignmentId}` }, t("Back to the walk list"))));
    return;
  }
  const campaign = walklist.campaign;
  const local = doorTranslation(campaign, doorLanguage(stop));
  const back = () => { location.hash = `#/walk/${assignmentId}`; };
  const base = () => ({ client_id: crypto.randomUUID(), assignment_id: Number(assignmentId), household_id: stop.household_id,
                        occurred_at: isoNow() });
  const label = `${stop.seq}. ${addressLine(stop)}`;
  const saved = h("p", { class: "saved", role: "status" });

  // One tap: an unsuccessful attempt.
  const codes = (campaign.result_codes || []).map((rc) => h("button", { type: "button", class: "result-code",
    dataset: { code: rc.code }, onclick: async () => {
      await record("contact", { ...base(), result_code: rc.code }, stop, `${label}: ${resultLabel(rc.code, rc.label)}`);
      back();
    } }, resultLabel(rc.code, rc.label)));

  // A conversation: the survey.
  const talkPerson = personChoice(stop, false);
  const notes = h("textarea", { rows: 2, maxlength: 2000, name: "notes" });
  const survey = h("form", { class: "card", id: "survey" },
    h("h2", {}, t("Talked: survey")),
    campaign.script ? h("p", { class: "script" }, campaign.script) : null,
    local && local.script ? h("p", { class: "script", lang: local.tag, id: "door-script" },
      h("strong", {}, t("At this door") + " (" + local.tag + "): "), local.script) : null,
    field(t("Who answered"), talkPerson),
    (campaign.questions || []).map((q, i) => answerControl(q, local && (local.questions || [])[i])),
    field(t("Notes"), notes),
    h("button", { type: "submit" }, t("Save conversation")));
  survey.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = { ...base(), responses: readAnswers(survey, campaign.questions || []) };
    if (talkPerson.value) { payload.person_id = Number(talkPerson.value); }
    if (notes.value.trim()) { payload.notes = notes.value.trim(); }
    await record("contact", payload, stop, `${label}: ${t("Talked")}`);
    back();
  });

  // A pledge card, with consent asked every time.
  const pledgePerson = personChoice(stop, true);
  const first = h("input", { type: "text", autocomplete: "off", maxlength: 100 });
  const last = h("input", { type: "text", autocomplete: "off", maxlength: 100 });
  const phone = h("input", { type: "tel", autocomplete: "off", maxlength: 40 });
  const email = h("input", { type: "email", autocomplete: "off", maxlength: 200 });
  const pledgeType = h("select", { required: true }, (campaign.pledge_types || []).map((p) =>
    h("option", { value: p.code }, pledgeLabel(p.code, p.label))));
  const consent = h("input", { type: "checkbox", id: "consent" });
  const pledgeError = h("p", { class: "error", role: "alert" });
  const newPerson = h("div", { class: "new-person" }, field(t("First name"), first), field(t("Last name"), last));
  const pledge = h("form", { class: "card", id: "pledge" },
    h("h2", {}, t("Pledge card")),
    field(t("Who signed"), pledgePerson), newPerson,
    field(t("Pledge"), pledgeType),
    field(t("Phone"), phone), field(t("E-mail"), email),
    h("div", { class: "field check" }, consent, h("label", { for: "consent" }, t("They agree to be contacted about this pledge"))),
    pledgeError,
    h("button", { type: "submit" }, t("Save pledge card")));
  const toggleNew = () => { newPerson.hidden = Boolean(pledgePerson.value); };
  pledgePerson.addEventListener("change", toggleNew);
  if ((stop.people || []).length) { pledgePerson.value = String(stop.people[0].id); }
  toggleNew();
  pledge.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = { ...base(), pledge_type: pledgeType.value, consent_to_contact: consent.checked,
                      campaign_id: campaign.id };
    if (pledgePerson.value) {
      payload.person_id = Number(pledgePerson.value);
    } else if (first.value.trim()) {
      payload.person = { first_name: first.value.trim(), last_name: last.value.trim() };
    } else {
      pledgeError.textContent = t("Choose who signed or write their first name.");
      first.focus();
      return;
    }
    const contact = {};
    if (phone.value.trim()) { contact.phone = phone.value.trim(); }
    if (email.value.trim()) { contact.email = email.value.trim(); }
    if (Object.keys(contact).length) { payload.person = { ...(payload.person || {}), ...contact }; }
    if (payload.person && payload.person_id && !payload.person.first_name) {
      const known = stop.people.find((p) => p.id === payload.person_id) || {};
      payload.person = { first_name: known.first_name || "", last_name: known.last_name || "", ...payload.person };
    }
    await record("pledge", payload, stop, `${label}: ${pledgeLabel(payload.pledge_type)}`);
    back();
  });

  const names = (stop.people || []).map((p) => `${p.first_name || ""} ${p.last_name || ""}`.trim()).filter(Boolean);
  page(label,
    names.length ? h("p", {}, names.join(", ")) : null,
    languageBadge(doorLanguage(stop)),
    saved,
    h("section", { class: "card", "aria-labelledby": "door-result" },
      h("h2", { id: "door-result" }, t("No conversation")),
      h("div", { class: "codes" }, codes)),
    survey, pledge,
    h("p", {}, h("a", { href: `#/walk/${assignmentId}` }, t("Back to the walk list"))));
}

function itemStatus(item) {
  if (item.state === "queued") { return t("Waiting to send"); }
  const result = item.result || {};
  if (result.status === "created") { return t("Created"); }
  if (result.status === "duplicate") { return t("Duplicate: already stored"); }
  const error = result.error || {};
  return t("Rejected: {reason}", { reason: error.message || error.code || "?" });
}

async function syncView() {
  const me = user();
  const items = await store.itemsOf(me.id);
  const waiting = items.filter((i) => i.state === "queued").length;
  const button = h("button", { type: "button", id: "sync-now", disabled: state.syncing || !token(),
    onclick: () => { state.retries = 0; syncNow(); render(); } }, state.syncing ? t("Sending…") : t("Sync now"));
  const last = state.lastSync;
  let summary = null;
  if (last && last.ok) {
    summary = last.totals.sent
      ? t("Sent {sent}: {created} created, {duplicate} duplicate, {rejected} rejected.", { sent: last.totals.sent,
        created: last.totals.created, duplicate: last.totals.duplicate, rejected: last.totals.rejected })
      : t("Nothing to send.");
  } else if (last) {
    const error = last.error || {};
    summary = error.offline ? t("No connection. Your items are kept and sent when you are back online.")
      : error.needsSignIn ? t("Your sign-in has expired. Sign in again to send your work; nothing recorded is lost.")
        : t("The server could not take them ({code}). Your items are kept and sent again shortly.", { code: error.code || error.status });
  }
  const rows = items.slice(0, 300).map((item) => h("li", { dataset: { client: item.client_id, state: item.state,
    status: item.result ? item.result.status : "" }, class: item.state },
  h("span", { class: "what" }, item.kind === "pledge" ? t("Pledge card") : t("Door"), ": ", item.label || ""),
  h("span", { class: "status" }, itemStatus(item)),
  item.state === "rejected" ? h("button", { type: "button", class: "secondary", onclick: async () => {
    await store.requeue(item.client_id);
    await refreshHeader();
    syncSoon();
    render();
  } }, t("Send again")) : null));
  page(t("Sync"),
    h("p", { id: "waiting" }, t("{count} items not yet sent", { count: waiting })),
    !token() ? h("p", {}, h("a", { href: "#/sign-in" }, t("Sign in to send them"))) : null,
    h("p", {}, button),
    summary ? h("p", { id: "sync-summary", role: "status", dataset: { ok: String(Boolean(last && last.ok)) } }, summary) : null,
    h("h2", {}, t("Recorded on this phone")),
    rows.length ? h("ul", { class: "items", id: "items" }, rows) : h("p", {}, t("Nothing recorded yet.")));
}

// ---- routing ------------------------------------------------------------------------------------

let rendering = Promise.resolve();

function render() {
  rendering = rendering.then(route).catch((error) => {
    page(t("Something went wrong"), h("p", {}, t("Reload the app; what you recorded is kept on this phone.")));
    console.error(error);
  });
  return rendering;
}

async function route() {
  await refreshHeader();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (!user() || parts[0] === "sign-in") {
    signInView();
    return;
  }
  if (parts[0] === "walk" && parts[1]) { await walkView(parts[1], parts[2] === "map" ? "map" : "list"); }
  else if (parts[0] === "door" && parts[1] && parts[2]) { await doorView(parts[1], parts[2]); }
  else if (parts[0] === "sync") { await syncView(); }
  else { await assignmentsView(); }
  root.dataset.view = parts[0] || "assignments";
}

async function start() {
  await loadLocale(config.messages);
  await loadSession();
  window.addEventListener("hashchange", render);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.worker, { scope: config.scope }).catch((error) => console.warn(error));
  }
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist().catch(() => {}); }
  await render();
  performance.mark("canvass-ready"); // the first useful screen (the budget test reads it)
  root.dataset.ready = "true";
  syncSoon();
}

start();
