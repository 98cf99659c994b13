// Phones fold each service of the overview to one line of badges. The markup ships open,
// so the page works without JavaScript and on wide screens (where app.css hides the
// summary). What the user opened on a phone stays open across the 10 s refresh, which
// re-renders the rows: the open services are kept in sessionStorage, per tab.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");
  var KEY = "overview-open-services";

  function opened() {
    try { return JSON.parse(window.sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(list) {
    try { window.sessionStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  }

  function apply(root) {
    var open = opened();
    var items = Array.prototype.slice.call(root.querySelectorAll("details[data-fold]"));
    if (root.matches && root.matches("details[data-fold]")) { items.push(root); }
    items.forEach(function (details) {
      var want = !narrow.matches || open.indexOf(details.dataset.fold) !== -1;
      if (details.open !== want) { details.open = want; }
    });
  }

  // The user's own clicks (Enter and Space on a summary are clicks too), not `toggle`:
  // the browser fires `toggle` for every <details open> the page or a refresh inserts.
  // At click time the details still has its old state. Only a phone's choices count; on a
  // wide screen every service is open and the summary is hidden.
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("details[data-fold] > summary");
    if (!summary || !narrow.matches) { return; }
    var sid = summary.parentElement.dataset.fold;
    var list = opened().filter(function (other) { return other !== sid; });
    if (!summary.parentElement.open) { list.push(sid); }
    save(list);
  });

  document.addEventListener("htmx:load", function (event) { apply(event.detail.elt); });
  narrow.addEventListener("change", function () { apply(document); });
  apply(document);
})();
