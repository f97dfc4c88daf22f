/* The duplicate review queue: keyboard moves (j/k), selection (x), compare (Enter), bulk dismiss (d). */
(function () {
  "use strict";

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-review-row]")); }

  function updateBar(form) {
    var boxes = form.querySelectorAll("input[name=suggestion]");
    var checked = form.querySelectorAll("input[name=suggestion]:checked");
    var bar = form.querySelector("[data-review-bar]");
    var count = form.querySelector("[data-review-count]");
    var all = form.querySelector("[data-review-all]");
    if (bar) bar.hidden = checked.length === 0;
    if (count) count.textContent = String(checked.length);
    if (all) {
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-review-form]");
    if (!form) return;
    if (event.target.matches("[data-review-all]")) {
      form.querySelectorAll("input[name=suggestion]").forEach(function (box) { box.checked = event.target.checked; });
    }
    updateBar(form);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" && event.target.type !== "checkbox") return;
    if (tag === "TEXTAREA" || tag === "SELECT") return;
    var list = rows();
    if (!list.length) return;
    var current = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-review-row]") : null;
    var index = current ? list.indexOf(current) : -1;
    var form = document.querySelector("form[data-review-form]");
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
      updateBar(form);
    } else if (event.key === "Enter" && current && event.target === current) {
      event.preventDefault();
      window.location.href = current.getAttribute("data-compare-url");
    } else if (event.key === "d" && form && form.querySelector("input[name=suggestion]:checked")) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
