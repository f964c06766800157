// OneWindow console: a little JavaScript where it saves time; every page works without it.
(function () {
  "use strict";
  // Print buttons (the one-time notice, receipts).
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  // The error summary takes the focus, so a screen reader and the keyboard start there.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
  // Applicant type: show the person's or the company's fields.
  var kinds = document.querySelectorAll("input[name='applicant.type']");
  function showKind() {
    var company = document.querySelector("input[name='applicant.type'][value='company']");
    var isCompany = company && company.checked;
    document.querySelectorAll("[data-for='person']").forEach(function (el) { el.hidden = isCompany; });
    document.querySelectorAll("[data-for='company']").forEach(function (el) { el.hidden = !isCompany; });
  }
  kinds.forEach(function (k) { k.addEventListener("change", showKind); });
  if (kinds.length) { showKind(); }
  // Desk shortcuts: Alt+N new application, Alt+S search, Alt+D the desk.
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) { return; }
    var key = e.key.toLowerCase();
    var target = { n: "/desk/new", d: "/desk" }[key];
    if (target && document.body.dataset.staff === "1") { e.preventDefault(); window.location.href = target; }
    if (key === "s") {
      var box = document.getElementById("desk-search");
      if (box) { e.preventDefault(); box.focus(); }
    }
  });
})();
