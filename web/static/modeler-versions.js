/* The versions page: a visual diff of two versions (two bpmn-js viewers with markers), roll back, and the
   migration dry run / apply for running instances, all through the REST API. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("versions-config").textContent);
  var viewers = {};

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); });
  }

  function errorText(result) {
    return (result.body && result.body.error && result.body.error.message) || ("HTTP " + result.status);
  }

  function draw(side, version, markers) {
    var container = $("diff-" + side);
    if (!viewers[side]) { viewers[side] = new window.BpmnJS({ container: container }); }
    var viewer = viewers[side];
    return fetch(config.bpmnUrl + "?version=" + version, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        Object.keys(markers).forEach(function (marker) {
          markers[marker].forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
        });
        container.dataset.rendered = "true";
      });
  }

  function fillList(id, items) {
    var list = $(id);
    list.replaceChildren();
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "—";
      list.appendChild(none);
    }
  }

  function compare(event) {
    if (event) { event.preventDefault(); }
    var from = $("diff-from").value, to = $("diff-to").value;
    getJson(config.diffUrl + "?from=" + from + "&to=" + to).then(function (result) {
      if (result.status !== 200) { $("versions-status").textContent = errorText(result); return; }
      var d = result.body, changed = Object.keys(d.changed);
      $("diff-left-title").textContent = "第 " + d.from + " 版 Version " + d.from;
      $("diff-right-title").textContent = "第 " + d.to + " 版 Version " + d.to;
      fillList("diff-added", d.added);
      fillList("diff-removed", d.removed);
      fillList("diff-changed", changed.map(function (id) { return id + " (" + d.changed[id].join(", ") + ")"; }));
      draw("left", d.from, { "diff-removed": d.removed, "diff-changed": changed });
      draw("right", d.to, { "diff-added": d.added, "diff-changed": changed });
    });
  }

  function rollback(event) {
    var version = event.currentTarget.dataset.version;
    postJson(config.versionsApi + "/" + version + "/redeploy", {}).then(function (result) {
      if (result.status === 201 || result.status === 200) {
        $("versions-status").textContent = "已回復為第 " + version + " 版，新版本 " + result.body.version +
          " Rolled back: version " + version + " is now version " + result.body.version;
        setTimeout(function () { window.location.reload(); }, 800);
      } else {
        $("versions-status").textContent = errorText(result);
      }
    });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function migrationRow(item, target) {
    var row = document.createElement("tr");
    row.dataset.instance = item.instance_id;
    cell(row, "#" + item.instance_id, "num");
    cell(row, item.agency || "");
    cell(row, item.status);
    cell(row, item.from_version + " → " + (item.migrated ? item.to_version : target));
    cell(row, item.migrated ? "已移轉 Migrated" : (item.can_migrate ? "可 Yes" : "否 No"),
      item.can_migrate ? "can-move" : "cannot-move");
    var details = item.reasons.length ? item.reasons : (item.restarted.length ?
      ["重新開始 Restarts: " + item.restarted.join(", ")] : []);
    cell(row, details.join("；"));
    var action = cell(row, "");
    if (item.can_migrate && !item.migrated) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary migrate-one";
      button.textContent = "移轉 Migrate";
      button.addEventListener("click", function () { migrateOne(item.instance_id, target); });
      action.appendChild(button);
    }
    return row;
  }

  function showReport(report) {
    var rows = $("migration-rows");
    rows.replaceChildren();
    report.items.forEach(function (item) { rows.appendChild(migrationRow(item, report.to_version)); });
    document.querySelector(".migration-table").hidden = report.items.length === 0;
    $("migration-summary").textContent = report.items.length ? ("可移轉 " + report.movable + "、不可 " + report.refused +
      (report.dry_run ? "" : "、已移轉 " + report.migrated) + " · movable " + report.movable + ", refused " +
      report.refused + (report.dry_run ? " (dry run)" : ", migrated " + report.migrated))
      : "沒有可移轉的執行中案件 No running instances on older versions";
    $("migration-apply").disabled = !(report.dry_run && report.movable);
  }

  function dryRun(event) {
    if (event) { event.preventDefault(); }
    getJson(config.migrationUrl + "?to=" + $("migration-to").value).then(function (result) {
      if (result.status === 200) { showReport(result.body); } else { $("migration-summary").textContent = errorText(result); }
    });
  }

  function applyAll() {
    postJson(config.migrationUrl, { to: parseInt($("migration-to").value, 10) }).then(function (result) {
      if (result.status === 200) { showReport(result.body); } else { $("migration-summary").textContent = errorText(result); }
    });
  }

  function migrateOne(instanceId, target) {
    var url = config.migrationUrl.replace(/process-models\/[^/]+\/migration$/, "process-instances/" + instanceId + "/migration");
    postJson(url, { to: target }).then(function (result) {
      $("migration-summary").textContent = result.status === 200 ? "案件 #" + instanceId + " 已移轉 Instance migrated"
        : errorText(result);
      dryRun();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("diff-form").addEventListener("submit", compare);
    document.querySelectorAll(".rollback-button").forEach(function (b) { b.addEventListener("click", rollback); });
    if ($("migration-form")) {
      $("migration-form").addEventListener("submit", dryRun);
      $("migration-apply").addEventListener("click", applyAll);
    }
    if (typeof window.BpmnJS === "function" && config.versions.length > 1) { compare(); }
  });
})();
