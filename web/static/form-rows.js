/* Lists of rows in task forms (web/templates/_jsonschema_rows.html): an "add a row" button that copies the last
   row with the next index and empty cells. Without JavaScript, saving a draft offers more blank rows. */
(function () {
  "use strict";

  function renumber(row, from, to) {
    var index = "[" + from + "]";
    row.dataset.row = String(to);
    row.querySelector("th").textContent = String(to + 1);
    row.querySelectorAll("input, select, label, p.field-error").forEach(function (el) {
      if (el.tagName === "P") { el.remove(); return; }
      if (el.name) { el.name = el.name.replace(index, "[" + to + "]"); }
      if (el.id) { el.id = el.id.replace("-" + from + "-", "-" + to + "-"); }
      if (el.htmlFor) { el.htmlFor = el.htmlFor.replace("-" + from + "-", "-" + to + "-"); }
      if (el.tagName === "LABEL") { el.textContent = el.textContent.replace(" " + (from + 1) + " ", " " + (to + 1) + " "); }
      if (el.type === "checkbox") { el.checked = false; } else if (el.tagName !== "LABEL") { el.value = ""; }
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  }

  function addButton(fieldset) {
    var body = fieldset.querySelector("table.form-rows tbody");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small add-row";
    button.textContent = fieldset.dataset.addLabel || "新增一列 Add a row";
    button.addEventListener("click", function () {
      var last = body.querySelector("tr.form-row:last-child");
      var from = Number(last.dataset.row);
      var copy = last.cloneNode(true);
      copy.classList.add("blank-row");
      renumber(copy, from, from + 1);
      body.appendChild(copy);
      var first = copy.querySelector("input:not([type=checkbox]), select");
      if (first) { first.focus(); }
    });
    fieldset.querySelector(".table-wrap").after(button);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset[data-rows-field]").forEach(addButton);
  });
})();
