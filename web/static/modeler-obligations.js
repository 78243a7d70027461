/* The obligation cadence editor: edit one obligation of obligations.json, preview its next 12 periods
   (computed by the server, on the calendar), deploy the file with the obligation's process as a new version. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("obligations-config").textContent);
  var obligations = (config.definitions.obligations || []).slice();
  var current = 0, timer = null;

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function option(select, value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }

  function offset(prefix, raw) {
    raw = raw || {};
    $(prefix + "-from").value = raw.from || "after_period";
    $(prefix + "-months").value = raw.months || 0;
    $(prefix + "-days").value = raw.days || 0;
  }

  function readOffset(prefix) {
    return { from: $(prefix + "-from").value, months: parseInt($(prefix + "-months").value || "0", 10),
      days: parseInt($(prefix + "-days").value || "0", 10) };
  }

  function fill(ob) {
    $("ob-title").value = ob.title || "";
    $("ob-process").value = ob.process_id || "";
    $("ob-clauses").value = (ob.clauses || []).join(", ");
    $("ob-cadence").value = ob.cadence;
    $("ob-every-days").value = ob.every_days || "";
    offset("ob-opens", ob.opens);
    offset("ob-due", ob.due);
    $("ob-role").value = ob.responsible_role;
  }

  function edited() {
    var ob = Object.assign({}, obligations[current]);
    ob.title = $("ob-title").value;
    ob.clauses = $("ob-clauses").value.split(",").map(function (c) { return c.trim(); }).filter(Boolean);
    ob.cadence = $("ob-cadence").value;
    if (ob.cadence === "every_n_days") { ob.every_days = parseInt($("ob-every-days").value || "0", 10); } else { delete ob.every_days; }
    ob.opens = readOffset("ob-opens");
    ob.due = readOffset("ob-due");
    ob.responsible_role = $("ob-role").value;
    return ob;
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function showPeriods(body) {
    var rows = $("periods");
    rows.replaceChildren();
    $("periods-error").hidden = !body.error;
    $("periods-error").textContent = body.error || "";
    (body.periods || []).forEach(function (p) {
      var row = document.createElement("tr");
      cell(row, p.label);
      cell(row, p.opens_at.slice(0, 16).replace("T", " "));
      cell(row, p.due_at.slice(0, 16).replace("T", " "));
      rows.appendChild(row);
    });
  }

  function preview() {
    obligations[current] = edited();
    fetch(config.previewUrl, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ obligation: obligations[current] }) })
      .then(function (r) { return r.json(); }).then(showPeriods)
      .catch(function () { showPeriods({ error: "預覽失敗 The preview failed" }); });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 250); }

  function status(text, kind) {
    $("ob-status").textContent = text;
    $("ob-status").className = "modeler-status" + (kind ? " is-" + kind : "");
  }

  function deploy() {
    var message = $("ob-message").value.trim(), ob = edited(), process = config.processes[ob.process_id];
    if (!message) { status("請輸入部署說明 Enter a deploy message", "error"); return; }
    if (!process) { status("流程未部署 The obligation's process is not deployed", "error"); return; }
    obligations[current] = ob;
    var file = Object.assign({}, config.definitions, { obligations: obligations });
    fetch(process.bpmnUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (xml) {
      var form = new FormData();
      form.append("files", new Blob([xml], { type: "application/xml" }), process.bpmnFilename);
      form.append("files", new Blob([JSON.stringify(file, null, 2)], { type: "application/json" }), config.file);
      form.append("message", message);
      return fetch(process.deployUrl, { method: "POST", body: form, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (result) {
        if (result.status === 201 || result.status === 200) {
          status("已部署第 " + result.body.version + " 版 Deployed version " + result.body.version, "ok");
        } else {
          status((result.body.error && result.body.error.message) || ("HTTP " + result.status), "error");
        }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    obligations.forEach(function (ob, i) { option($("obligation-select"), i, ob.id + " · " + (ob.title || "")); });
    config.cadences.forEach(function (c) { option($("ob-cadence"), c, c); });
    config.roles.forEach(function (r) { option($("ob-role"), r.id, r.id + " · " + r.zh + " " + r.en); });
    $("obligation-select").addEventListener("change", function () {
      current = parseInt($("obligation-select").value, 10);
      fill(obligations[current]);
      preview();
    });
    $("obligation-form").addEventListener("input", schedule);
    $("obligation-form").addEventListener("change", schedule);
    if ($("ob-deploy")) { $("ob-deploy").addEventListener("click", deploy); }
    if (!config.canDeploy) {
      document.querySelectorAll("#obligation-form input, #obligation-form select").forEach(function (el) { el.disabled = true; });
    }
    if (obligations.length) { fill(obligations[0]); preview(); }
  });
})();
