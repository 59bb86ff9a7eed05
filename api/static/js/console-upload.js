// The household upload with a progress bar: the form is sent by XMLHttpRequest (whose upload reports
// the bytes sent), then the server's answer (the import report, or why nothing was imported) replaces
// the page. Without this script the form posts as usual and the browser shows its own progress.
"use strict";
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.FormData || !window.DOMParser) { return; }
    event.preventDefault();
    var box = form.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    var status = box.querySelector(".upload-status");
    var button = form.querySelector("button[type=submit]");
    box.hidden = false;
    button.disabled = true;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.round(100 * e.loaded / e.total);
      bar.value = percent;
      status.textContent = status.dataset.uploading + " " + percent + " %";
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the database works
      status.textContent = status.dataset.importing;
    });
    request.addEventListener("load", function () {
      var answer = new DOMParser().parseFromString(request.responseText, "text/html");
      document.title = answer.title;
      document.body.replaceWith(document.importNode(answer.body, true));
      var main = document.getElementById("main");
      if (main) { main.setAttribute("tabindex", "-1"); main.focus(); }
    });
    request.addEventListener("error", function () {
      status.textContent = status.dataset.failed;
      button.disabled = false;
    });
    request.send(new FormData(form));
  });
});
