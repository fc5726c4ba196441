// The officer dashboard's bulk actions and the job page: improvements only; both work without script.
"use strict";
(function () {
  // "Tick all on this page": <input type="checkbox" data-ff-tick-all="app_ids"> ticks every box of that name.
  document.querySelectorAll("[data-ff-tick-all]").forEach(function (all) {
    const name = all.getAttribute("data-ff-tick-all");
    const boxes = function () { return document.querySelectorAll('input[type="checkbox"][name="' + name + '"]'); };
    all.classList.remove("ff-hidden");
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
    });
  });

  // The job page follows its job: it asks for the status every second and reloads once the job is over,
  // so the result is drawn by the server as it would be without script.
  const job = document.getElementById("ff-job");
  if (!job || job.getAttribute("data-finished") === "1") {
    return;
  }
  const url = job.getAttribute("data-status-url");
  const bar = document.getElementById("ff-job-bar");
  const fill = bar ? bar.querySelector(".progress-bar") : null;
  const count = document.getElementById("ff-job-count");
  const percent = document.getElementById("ff-job-percent");
  const note = document.getElementById("ff-job-note");
  const reload = document.getElementById("ff-job-reload");
  const template = count ? count.getAttribute("data-template") : null;
  if (reload) {
    reload.parentElement.classList.add("ff-hidden");
  }
  let failures = 0;

  function show(status) {
    if (bar) {
      bar.setAttribute("aria-valuenow", String(status.percent));
    }
    if (fill) {
      fill.className = fill.className.replace(/\bff-pct-\d+\b/, "ff-pct-" + status.step);
      fill.textContent = status.percent + "%";
    }
    if (percent) {
      percent.textContent = "(" + status.percent + "%)";
    }
    if (count && template && status.total !== null) {
      count.textContent = template.replace("{done}", status.done).replace("{total}", status.total);
    }
    if (note) {
      note.textContent = status.note || "";
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        failures = 0;
        show(status);
        if (status.finished || status.failed) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          if (reload) {
            reload.parentElement.classList.remove("ff-hidden");
          }
          return;
        }
        window.setTimeout(poll, 2000);
      });
  }

  window.setTimeout(poll, 1000);
})();
