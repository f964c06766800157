// The hall screen reloads itself (nobody touches it). It reloads only when the console answers,
// so a console that is away (or a sign-in that ended) leaves the last figures on the wall.
(function () {
  "use strict";
  var seconds = Math.max(5, parseInt(document.body.dataset.refresh || "30", 10));
  function tick() {
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (r) {
        if (r.status === 200) { window.location.reload(); } else { setTimeout(tick, seconds * 1000); }
      })
      .catch(function () { setTimeout(tick, seconds * 1000); });
  }
  setTimeout(tick, seconds * 1000);
})();
