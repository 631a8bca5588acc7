// Printing a chapter shows everything, as its handout does: every folded box (solutions,
// parity tables, code) is opened before printing and closed again afterwards. The chapter's
// "Handout (print)" button prints the page.
(function () {
  "use strict";
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".lme-print-button")) window.print();
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
