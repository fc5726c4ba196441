// After the award: add repeatable rows without a round trip, and show only the chosen kind of change.
// Without this file the pages work the same: "More rows" posts the form, and every kind's fields show.
"use strict";
(function () {
  // <table data-ff-rows="milestones"> rows <tr data-ff-row>, fields named milestones-0-title …;
  // <button data-ff-more="milestones"> appends a blank copy of the last row, renumbered.
  function addRow(table) {
    const body = table.tBodies[0];
    const rows = body.querySelectorAll("tr[data-ff-row]");
    const last = rows[rows.length - 1];
    if (!last) { return null; }
    const prefix = table.getAttribute("data-ff-rows");
    const index = rows.length;
    const pattern = new RegExp("^" + prefix + "-\\d+-");
    const row = last.cloneNode(true);
    row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        const value = el.getAttribute(attr);
        if (value && pattern.test(value)) {
          el.setAttribute(attr, value.replace(pattern, prefix + "-" + index + "-"));
        }
      });
    });
    row.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; el.classList.remove("is-invalid"); });
    row.querySelectorAll("select").forEach(function (el) { el.selectedIndex = 0; el.classList.remove("is-invalid"); });
    row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.remove(); });
    row.querySelectorAll("label.visually-hidden").forEach(function (el) {
      el.textContent = el.textContent.replace(/\d+/, String(index + 1));
    });
    const number = row.querySelector(".ff-row-no");
    if (number) { number.textContent = String(index + 1); }
    body.appendChild(row);
    return row;
  }

  document.querySelectorAll("[data-ff-more]").forEach(function (button) {
    const table = document.querySelector('table[data-ff-rows="' + button.getAttribute("data-ff-more") + '"]');
    if (!table) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      const row = addRow(table);
      const first = row && row.querySelector("input, select");
      if (first) { first.focus(); }
    });
  });

  // A change request: show the section of the chosen kind only (all of them when none is chosen yet).
  const form = document.querySelector("form[data-ff-change-form]");
  if (form) {
    const radios = form.querySelectorAll("input[data-ff-kind]");
    const sections = form.querySelectorAll("[data-ff-kind-section]");
    const show = function () {
      const chosen = form.querySelector("input[data-ff-kind]:checked");
      sections.forEach(function (section) {
        const hide = chosen !== null && section.getAttribute("data-ff-kind-section") !== chosen.value;
        section.classList.toggle("ff-hidden", hide);
      });
    };
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  }
})();
