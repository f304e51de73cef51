// The Exports page: while a job runs, its bar, rows and time left move (status.json every
// second); when a job ends the page reloads, to show its download link or its error.
(function () {
  "use strict";
  var table = document.getElementById("export-jobs");
  if (!table) { return; }
  var url = table.getAttribute("data-status-url");
  var lang = document.documentElement.lang || "en";
  var numbers = new Intl.NumberFormat(lang);

  function row(id) { return document.getElementById("job-" + id); }

  // Where each job was when first seen here: a job still waiting when the page was made has no
  // start time (data-started), so its pace is measured from then on.
  var first = {};

  function timeLeft(tr, job) {
    if (!job.rows_done || !job.rows_total) { return ""; }
    var now = Date.now() / 1000;
    var started = parseFloat(tr.getAttribute("data-started"));
    var since = started ? {at: started, done: 0} : (first[job.id] = first[job.id] || {at: now, done: job.rows_done});
    if (job.rows_done <= since.done || now <= since.at) { return ""; }
    var pace = (now - since.at) / (job.rows_done - since.done);  // seconds a row
    var seconds = Math.max(0, Math.round(pace * (job.rows_total - job.rows_done)));
    // The words come translated from the page (data-left-seconds, data-left-minutes).
    return seconds < 60 ? table.getAttribute("data-left-seconds").replace("{n}", numbers.format(seconds))
      : table.getAttribute("data-left-minutes").replace("{n}", numbers.format(Math.round(seconds / 60)));
  }

  function rowsText(job) {
    return table.getAttribute("data-rows-text").replace("{done}", numbers.format(job.rows_done))
      .replace("{total}", numbers.format(job.rows_total));
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (jobs) {
        var running = false, ended = false;
        jobs.forEach(function (job) {
          var tr = row(job.id);
          if (!tr) { return; }
          var wasRunning = tr.getAttribute("data-finished") !== "1" && !tr.querySelector("a[id^=download-]") &&
            tr.querySelector("button[id^=cancel-]") !== null;
          var bar = tr.querySelector(".progress");
          bar.setAttribute("aria-valuenow", job.percent);
          bar.firstElementChild.style.width = job.percent + "%";
          if (job.rows_total !== null) {
            tr.querySelector(".job-rows").textContent = rowsText(job);
          }
          tr.querySelector(".job-left").textContent = job.finished ? "" : " " + timeLeft(tr, job);
          tr.querySelector(".job-status .badge").textContent = job.status_label;
          if (job.finished && wasRunning) { ended = true; }
          if (!job.finished) { running = true; }
        });
        if (ended) { window.location.reload(); return; }
        if (running) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  if (table.querySelector("button[id^=cancel-]")) { window.setTimeout(poll, 500); }
}());
