/* kehu page behaviour (no inline scripts: the Content-Security-Policy allows only files like this). */
(function () {
  "use strict";

  // A page answering for another address (a search with one exact hit answers with that
  // customer's 360 page) names its own in <link rel="canonical" data-replace-url>: show that one,
  // so that reloading, bookmarking and sharing use the customer's URL.
  var canonical = document.querySelector("link[rel=canonical][data-replace-url]");
  if (canonical && window.history && window.history.replaceState) {
    var own = new URL(canonical.href, window.location.href);
    if (own.origin === window.location.origin && own.pathname !== window.location.pathname) {
      window.history.replaceState(null, "", own.pathname + own.hash);
    }
  }

  // "/" focuses the global search box, unless the user is typing somewhere already.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    var box = document.getElementById("global-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // Escape closes the live results; clicking elsewhere too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var results = document.getElementById("global-search-results");
    if (results) results.innerHTML = "";
  });
  document.addEventListener("click", function (event) {
    var results = document.getElementById("global-search-results");
    if (results && !event.target.closest(".kehu-search")) results.innerHTML = "";
  });

  // Bulk selection in any list form marked data-bulk-form="<checkbox name>" (default "customer"):
  // "select all" (data-select-all) and the action bar (data-bulk-bar, data-bulk-count).
  function updateBulkBar(form) {
    var name = form.getAttribute("data-bulk-form") || "customer";
    var boxes = form.querySelectorAll("input[name=" + name + "]");
    var checked = form.querySelectorAll("input[name=" + name + "]:checked");
    var bar = form.querySelector("[data-bulk-bar]");
    var count = form.querySelector("[data-bulk-count]");
    var all = form.querySelector("[data-select-all]");
    if (bar) bar.hidden = checked.length === 0;
    if (count) count.textContent = String(checked.length);
    if (all) {
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.closest && target.closest("form[data-bulk-form]");
    if (!form) return;
    if (target.matches("[data-select-all]")) {
      var name = form.getAttribute("data-bulk-form") || "customer";
      form.querySelectorAll("input[name=" + name + "]").forEach(function (box) { box.checked = target.checked; });
    }
    updateBulkBar(form);
  });

  // Elements with data-autosubmit submit their form when changed (filters).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-autosubmit]") && target.form) target.form.requestSubmit();
  });

  // After an HTMX swap, focus the first field that has an error so keyboard users land on it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var invalid = event.target.querySelector && event.target.querySelector(".is-invalid");
    if (invalid) invalid.focus();
  });
})();
