// The confirmation dialog: htmx loads a confirmation into #dialog-body, this opens it;
// a `deploymentChanged` event carrying closeDialog (sent by the server after an action)
// or a [data-close-dialog] button closes it. No inline scripts, so a strict CSP works.
(function () {
  "use strict";
  function dialog() { return document.getElementById("confirm-dialog"); }

  document.addEventListener("htmx:afterSwap", function (event) {
    var d = dialog();
    if (d && event.detail.target && event.detail.target.id === "dialog-body" && !d.open) {
      d.showModal();
      var field = d.querySelector("input[type=text]") || d.querySelector("button[type=submit]");
      if (field) { field.focus(); }
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-dialog]")) {
      var d = dialog();
      if (d && d.open) { d.close(); }
    }
  });

  document.body.addEventListener("deploymentChanged", function (event) {
    var d = dialog();
    if (d && d.open && event.detail && event.detail.closeDialog) { d.close(); }
  });
})();
