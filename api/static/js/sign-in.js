(function () {
  "use strict";
  var api = window.canvassApi;
  var form = document.getElementById("sign-in-form");
  var error = document.getElementById("sign-in-error");
  var button = document.getElementById("sign-in-button");

  if (api.token()) { window.location.replace("/dashboard"); return; }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    button.disabled = true;
    api.request("/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
        label: "web dashboard"
      })
    }).then(function (response) { return response.json(); })
      .then(function (body) {
        api.saveSession(body);
        window.location.assign("/dashboard");
      })
      .catch(function (err) {
        error.textContent = err.status === 401 ? "E-mail or password is wrong." :
          err.status === 429 ? "Too many attempts; wait a few minutes." : (err.message || "Could not sign in.");
        error.hidden = false;
      })
      .finally(function () { button.disabled = false; });
  });
})();
