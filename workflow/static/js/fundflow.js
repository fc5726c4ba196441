// fundflow's pages work by plain HTML forms; this file only makes some of them quicker to use.
"use strict";
(function () {
  // Buttons that ask before they act: <button data-confirm="...">.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    const question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
