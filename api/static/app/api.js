// The public phone API (/v1), nothing else. Errors come back as ApiError with the envelope's code;
// a request that never reached the server is an ApiError with status 0 (offline, connection lost).
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  get offline() { return this.status === 0; }
  get needsSignIn() { return this.status === 401; }
}

export async function request(path, { method = "GET", token, body, etag } = {}) {
  const headers = { Accept: "application/json" };
  if (token) { headers.Authorization = `Bearer ${token}`; }
  if (body !== undefined) { headers["Content-Type"] = "application/json"; }
  if (etag) { headers["If-None-Match"] = etag; }
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                   cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new ApiError(0, "offline", error && error.message);
  }
  if (response.status === 304) { return { status: 304, data: null, etag: response.headers.get("ETag") }; }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null; // a proxy's HTML error page, an empty 502
  }
  if (!response.ok) {
    const envelope = (data && data.error) || {};
    throw new ApiError(response.status, envelope.code || `http_${response.status}`, envelope.message, envelope.details);
  }
  return { status: response.status, data, etag: response.headers.get("ETag") };
}
