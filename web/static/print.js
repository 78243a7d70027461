/* The print view's button: open the browser's print dialog (no inline scripts under the CSP). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".js-print").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });
})();
