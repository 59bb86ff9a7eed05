// Sending the outbox: POST /v1/sync in batches, oldest first. An item leaves the unsynced count only
// when the server answered it created or duplicate (then it is committed on the server); a rejected
// one is kept with its reason. A lost connection, a 5xx, a 429 or a 401 ends the run with every
// unanswered item still queued: the same client_ids go again next time, and the server answers a
// retry of a stored item `duplicate`, so nothing is stored twice.
import { request, ApiError } from "./api.js";
import { applyResults, queued } from "./store.js";

export const BATCH_SIZE = 100; // the server takes up to 500; smaller batches suit a weak signal

async function sendBatches(session, deviceId, onBatch) {
  let batchSize = BATCH_SIZE;
  const totals = { sent: 0, created: 0, duplicate: 0, rejected: 0 };
  for (;;) {
    const items = await queued(session.user.id, batchSize);
    if (!items.length) { return totals; }
    const body = {
      device_id: deviceId,
      contacts: items.filter((i) => i.kind === "contact").map((i) => i.payload),
      pledges: items.filter((i) => i.kind === "pledge").map((i) => i.payload),
    };
    let answer;
    try {
      answer = await request("/v1/sync", { method: "POST", token: session.token, body });
    } catch (error) {
      if (error instanceof ApiError && error.status === 413 && batchSize > 1) {
        batchSize = Math.max(1, Math.floor(batchSize / 2));
        continue;
      }
      error.totals = totals;
      throw error;
    }
    const results = (answer.data && answer.data.results) || [];
    const sentIds = new Set(items.map((i) => i.client_id));
    const answered = results.filter((r) => sentIds.has(r.client_id));
    await applyResults(answered);
    for (const result of answered) { totals[result.status] = (totals[result.status] || 0) + 1; }
    totals.sent += items.length;
    if (onBatch) { onBatch(totals); }
    if (answered.length < items.length) {
      // An answer without every item is not trusted further: what was answered is recorded, the rest waits.
      throw Object.assign(new ApiError(502, "incomplete_answer", "the server did not answer every item"), { totals });
    }
  }
}

// One sync at a time across tabs (Web Locks where available; the server's idempotency covers the rest).
export function syncOutbox(session, deviceId, onBatch) {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request("canvass-sync", () => sendBatches(session, deviceId, onBatch));
  }
  return sendBatches(session, deviceId, onBatch);
}
