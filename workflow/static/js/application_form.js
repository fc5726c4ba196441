// The application form works without script; this only makes it quicker:
// the body list follows the chosen channel, partner rows are added in place, the budget total adds up live.
"use strict";
(function () {
  const form = document.querySelector(".ff-application-form");
  if (!form) {
    return;
  }

  // Recommending bodies of the chosen channel only (the server refuses any other anyway).
  const channel = form.querySelector("[data-ff-channel]");
  const body = form.querySelector("[data-ff-body]");
  function filterBodies() {
    if (!channel || !body) {
      return;
    }
    const chosen = channel.value;
    body.querySelectorAll("option[data-channel]").forEach(function (option) {
      const other = chosen !== "" && option.getAttribute("data-channel") !== chosen;
      option.hidden = other;
      option.disabled = other;
    });
    body.querySelectorAll("optgroup").forEach(function (group) {
      const shown = group.querySelector("option:not([hidden])");
      group.hidden = !shown;
    });
    const selected = body.options[body.selectedIndex];
    if (selected && selected.disabled) {
      body.value = "";
    }
  }
  if (channel && body) {
    channel.addEventListener("change", filterBodies);
    filterBodies();
  }

  // Partner rows: a button that clones the last row, empty, with the next index.
  const table = form.querySelector("[data-ff-partners] tbody");
  const addRow = form.querySelector("[data-ff-add-row]");
  const moreRows = form.querySelector("[data-ff-more-rows]");
  if (table && addRow) {
    addRow.classList.remove("ff-hidden");
    if (moreRows) {
      moreRows.classList.add("ff-hidden");
    }
    addRow.addEventListener("click", function () {
      const rows = table.querySelectorAll("tr");
      const last = rows[rows.length - 1];
      if (!last || rows.length >= 50) {
        return;
      }
      const index = rows.length;
      const copy = last.cloneNode(true);
      copy.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          const value = el.getAttribute(attr);
          if (value) {
            el.setAttribute(attr, value.replace(/^partners-\d+-/, "partners-" + index + "-"));
          }
        });
        if (el.tagName === "INPUT") {
          el.value = "";
        } else if (el.tagName === "SELECT") {
          el.selectedIndex = 0;
        }
        el.classList.remove("is-invalid");
      });
      copy.querySelectorAll(".invalid-feedback").forEach(function (el) {
        el.remove();
      });
      table.appendChild(copy);
      const first = copy.querySelector("input");
      if (first) {
        first.focus();
      }
    });
  }

  // The budget total, in the reader's units (万元 in Chinese, yuan otherwise).
  const total = form.querySelector("[data-ff-total]");
  const parts = form.querySelectorAll("[data-ff-budget]");
  function showTotal() {
    let sum = 0;
    for (const input of parts) {
      const text = input.value.trim();
      if (text === "") {
        continue;
      }
      if (!/^\d+$/.test(text)) {
        total.textContent = "—";
        return;
      }
      sum += Number(text);
    }
    if (total.getAttribute("data-lang") === "zh") {
      total.textContent = new Intl.NumberFormat("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2})
        .format(sum / 10000) + " 万元";
    } else {
      total.textContent = "¥" + new Intl.NumberFormat("en-GB", {maximumFractionDigits: 0}).format(sum);
    }
  }
  if (total && parts.length) {
    parts.forEach(function (input) {
      input.addEventListener("input", showTotal);
    });
  }
})();

// The chosen call's budget rules, from the call option's data-rules (one sentence a line).
(function () {
  const call = document.querySelector(".ff-application-form [data-ff-call]");
  const list = document.querySelector(".ff-application-form [data-ff-rules]");
  if (!call || !list) {
    return;
  }
  call.addEventListener("change", function () {
    const option = call.options[call.selectedIndex];
    const rules = option && option.getAttribute("data-rules");
    if (!rules) {
      return;
    }
    list.querySelectorAll("[data-ff-rule]").forEach(function (item) {
      item.remove();
    });
    const fixed = list.firstChild;
    rules.split("\n").forEach(function (text) {
      const item = document.createElement("li");
      item.setAttribute("data-ff-rule", "");
      item.textContent = text;
      list.insertBefore(item, fixed);
    });
  });
})();
