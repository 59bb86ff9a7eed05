// The app's service worker (served by /app/sw.js, scope /app/, with VERSION, PRECACHE and OPTIONAL
// prepended by the server). It keeps the app's own files so the app opens with no connection. It never
// touches /v1: the app keeps its data (session, walk lists, outbox) in IndexedDB itself.
const CACHE = `canvass-app-${VERSION}`;
const SHELL = PRECACHE[0];
const SHELL_WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE);
    // Translations are kept when the server has them; a missing one leaves English.
    await Promise.all(OPTIONAL.map((url) => cache.add(url).catch(() => null)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("canvass-app-") && name !== CACHE) { await caches.delete(name); }
    }
    await self.clients.claim();
  })());
});

async function fromNetwork(request, cacheKey) {
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(cacheKey || request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/v1/")) {
    return; // the network, untouched
  }
  if (request.mode === "navigate" && url.pathname.startsWith(SHELL)) {
    // The shell: fresh when the server answers, the kept copy when it does not, or not within a few seconds
    // (a signal that connects but carries nothing); the late answer still refreshes the kept copy.
    const network = fromNetwork(request, SHELL);
    event.waitUntil(network.catch(() => null));
    event.respondWith((async () => {
      const kept = await caches.match(SHELL);
      if (!kept) { return network; }
      const late = new Promise((resolve) => { setTimeout(() => resolve(kept), SHELL_WAIT_MS); });
      return Promise.race([network.catch(() => kept), late]);
    })());
    return;
  }
  if (url.pathname.startsWith(`${SHELL}messages/`)) {
    event.respondWith(fromNetwork(request).catch(async () => (await caches.match(request)) || Response.error()));
    return;
  }
  // The app's files: the version kept with this worker (a new version comes with a new worker).
  event.respondWith((async () => (await caches.match(request, { ignoreSearch: true })) || fetch(request))());
});
