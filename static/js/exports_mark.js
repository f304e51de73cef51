// The menu's mark: only while this employee has an export they have not seen end (a flag in
// their session puts this script on the page), ask every few seconds whether one is ready.
(function () {
  "use strict";
  var mark = document.getElementById("exports-mark");
  if (!mark) { return; }
  var url = mark.getAttribute("data-mark-url");
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (state.finished > 0) {
          mark.hidden = false;
          mark.querySelector(".badge").textContent = String(state.finished);
          return;
        }
        if (state.running) { window.setTimeout(poll, 3000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  poll();
}());
