/* The duplicate review queue: keyboard moves (j/k), selection (x), compare (Enter), bulk dismiss (d).
   Selection and the action bar are the shared bulk-selection code in kehu/app.js. */
(function () {
  "use strict";

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-review-row]")); }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" && event.target.type !== "checkbox") return;
    if (tag === "TEXTAREA" || tag === "SELECT") return;
    var list = rows();
    if (!list.length) return;
    var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-review-row]") : null;
    var index = current ? list.indexOf(current) : -1;
    var form = document.querySelector("form[data-bulk-form]");
    if (event.key === "j" || event.key === "ArrowDown" && current) {
      event.preventDefault();
      list[Math.min(index + 1, list.length - 1)].focus();
    } else if (event.key === "k" || event.key === "ArrowUp" && current) {
      event.preventDefault();
      list[Math.max(index - 1, 0)].focus();
    } else if (event.key === "x" && current) {
      event.preventDefault();
      var box = current.querySelector("input[name=suggestion]");
      box.checked = !box.checked;
      // The shared bulk-selection code (kehu/app.js) updates the action bar on change.
      box.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (event.key === "Enter" && current && event.target === current) {
      event.preventDefault();
      window.location.href = current.getAttribute("data-compare-url");
    } else if (event.key === "d" && form && form.querySelector("input[name=suggestion]:checked")) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
