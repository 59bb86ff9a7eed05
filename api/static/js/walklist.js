/* The print page without a token in the request: fetch the same URL with it, show the document. */
(function () {
  "use strict";
  var api = window.canvassApi;
  if (!api.token()) { window.location.replace("/sign-in"); return; }
  var errorBox = document.getElementById("walklist-error");
  api.request(window.location.pathname, { headers: { "Accept": "text/html" } })
    .then(function (response) { return response.text(); })
    .then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      document.replaceChild(document.adoptNode(doc.documentElement), document.documentElement);
    })
    .catch(function (err) {
      errorBox.textContent = err.status === 403 ? "Only field leads and organizers print walk lists." :
        (err.message || "Could not load the walk list.");
      errorBox.hidden = false;
    });
})();
