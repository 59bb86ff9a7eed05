/* Token storage and API calls shared by the dashboard pages.
   The token lives in sessionStorage: per tab, gone when it closes, never in a URL or cookie. */
(function () {
  "use strict";
  var KEY = "canvass.token";
  var USER = "canvass.user";

  function token() { return window.sessionStorage.getItem(KEY); }

  function signOut() {
    window.sessionStorage.removeItem(KEY);
    window.sessionStorage.removeItem(USER);
    window.location.assign("/sign-in");
  }

  function ApiError(status, code, message) {
    this.status = status; this.code = code; this.message = message;
  }

  function request(path, options) {
    options = options || {};
    var headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    var t = token();
    if (t) { headers.Authorization = "Bearer " + t; }
    return window.fetch(path, Object.assign({}, options, { headers: headers, credentials: "omit" }))
      .then(function (response) {
        if (response.status === 401 && t) { signOut(); }
        if (!response.ok) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            var error = body.error || {};
            throw new ApiError(response.status, error.code || "http_" + response.status,
                               error.message || response.statusText);
          });
        }
        return response;
      });
  }

  function getJSON(path, query) {
    var params = new URLSearchParams();
    Object.keys(query || {}).forEach(function (name) {
      if (query[name] !== "" && query[name] !== null && query[name] !== undefined) { params.set(name, query[name]); }
    });
    var qs = params.toString();
    return request(path + (qs ? "?" + qs : "")).then(function (r) { return r.json(); });
  }

  window.canvassApi = {
    token: token,
    saveSession: function (body) {
      window.sessionStorage.setItem(KEY, body.access_token);
      window.sessionStorage.setItem(USER, JSON.stringify(body.user));
    },
    signOut: signOut,
    request: request,
    getJSON: getJSON,
    ApiError: ApiError
  };
})();
