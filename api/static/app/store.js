// The phone's own storage (IndexedDB): the session, cached assignments and walk lists, and the outbox
// of recorded contacts and pledge cards. Outbox writes ask for strict durability, so an item is on
// disk before the app says it is saved.
const DB_NAME = "canvass-app";
const DB_VERSION = 1;
let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("kv");
        db.createObjectStore("walklists", { keyPath: "key" });
        const outbox = db.createObjectStore("outbox", { keyPath: "client_id" });
        outbox.createIndex("user_state", ["user_id", "state", "seq"]);
      };
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => db.close();
        resolve(db);
      };
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs fn(stores) in one transaction and resolves with its result once the transaction committed.
async function inTransaction(names, mode, fn) {
  const db = await openDb();
  const tx = db.transaction(names, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
  const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
  const result = await fn(stores);
  await committed;
  return result;
}

export function getValue(key) {
  return inTransaction(["kv"], "readonly", (s) => done(s.kv.get(key)));
}

export function setValue(key, value) {
  return inTransaction(["kv"], "readwrite", (s) => { s.kv.put(value, key); });
}

export function deleteValue(key) {
  return inTransaction(["kv"], "readwrite", (s) => { s.kv.delete(key); });
}

export function getWalklist(userId, assignmentId) {
  return inTransaction(["walklists"], "readonly", (s) => done(s.walklists.get(`${userId}:${assignmentId}`)));
}

export function putWalklist(userId, assignmentId, etag, document) {
  const entry = { key: `${userId}:${assignmentId}`, etag, document, fetched_at: new Date().toISOString() };
  return inTransaction(["walklists"], "readwrite", (s) => { s.walklists.put(entry); });
}

// An outbox item: {client_id, kind: "contact"|"pledge", user_id, seq, payload, label, household_id,
// assignment_id, state: "queued"|"synced"|"rejected", result, recorded_at, answered_at}.
export async function enqueue(item) {
  const seq = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  const entry = { ...item, seq, state: "queued", result: null, recorded_at: new Date().toISOString() };
  await inTransaction(["outbox"], "readwrite", (s) => { s.outbox.add(entry); });
  return entry;
}

function byState(userId, state) {
  return IDBKeyRange.bound([userId, state, -Infinity], [userId, state, Infinity]);
}

export function queued(userId, limit) {
  return inTransaction(["outbox"], "readonly",
    (s) => done(s.outbox.index("user_state").getAll(byState(userId, "queued"), limit)));
}

export function countQueued(userId) {
  return inTransaction(["outbox"], "readonly", (s) => done(s.outbox.index("user_state").count(byState(userId, "queued"))));
}

export function itemsOf(userId) {
  return inTransaction(["outbox"], "readonly", async (s) => {
    const all = await done(s.outbox.getAll());
    return all.filter((item) => item.user_id === userId).sort((a, b) => b.seq - a.seq);
  });
}

// The server's answers, applied together: created/duplicate -> synced, rejected -> rejected (kept,
// with the reason). Only items still queued change, so an answer cannot undo a later one.
export function applyResults(answers) {
  return inTransaction(["outbox"], "readwrite", async (s) => {
    for (const answer of answers) {
      const item = await done(s.outbox.get(answer.client_id));
      if (!item || item.state !== "queued") { continue; }
      item.state = answer.status === "rejected" ? "rejected" : "synced";
      item.result = answer;
      item.answered_at = new Date().toISOString();
      s.outbox.put(item);
    }
  });
}

// A rejected item sent again (after a lead fixed the assignment, say): same client_id.
export function requeue(clientId) {
  return inTransaction(["outbox"], "readwrite", async (s) => {
    const item = await done(s.outbox.get(clientId));
    if (item && item.state === "rejected") {
      item.state = "queued";
      s.outbox.put(item);
    }
  });
}
