/* The form editor: the JSON schema beside a live preview rendered by the server (the inbox's own renderer),
   and "Deploy" = the process's BPMN plus the edited form files as a new version (REST API). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("form-config").textContent);
  var timer = null;

  function $(id) { return document.getElementById(id); }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function parsed(id) {
    var el = $(id);
    if (!el || !el.value.trim()) { return { value: null }; }
    try { return { value: JSON.parse(el.value) }; } catch (e) { return { error: id + ": " + e.message }; }
  }

  function showError(text) {
    var p = document.createElement("p");
    p.className = "field-error form-preview-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    $("form-preview").replaceChildren(p);
  }

  function preview() {
    var schema = parsed("schema-source"), ui = parsed("ui-source");
    if (schema.error || ui.error) { showError("JSON 格式錯誤 Invalid JSON — " + (schema.error || ui.error)); return; }
    fetch(config.previewUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ schema: schema.value, ui_schema: ui.value || {} })
    }).then(function (r) { return r.text(); })
      .then(function (html) {
        // The fragment comes from our own server-side renderer (autoescaped Jinja2), same origin.
        var doc = new DOMParser().parseFromString(html, "text/html");
        $("form-preview").replaceChildren.apply($("form-preview"), Array.from(doc.body.childNodes));
      })
      .catch(function () { showError("預覽失敗 The preview failed"); });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, 300);
  }

  function status(text, kind) {
    $("form-status").textContent = text;
    $("form-status").className = "modeler-status" + (kind ? " is-" + kind : "");
  }

  function deploy() {
    var message = $("form-message").value.trim();
    if (!message) { status("請輸入部署說明 Enter a deploy message", "error"); return; }
    fetch(config.bpmnUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (xml) {
      var form = new FormData();
      form.append("files", new Blob([xml], { type: "application/xml" }), config.bpmnFilename);
      form.append("files", new Blob([$("schema-source").value], { type: "application/json" }), config.file);
      if (config.uiFile && $("ui-source")) {
        form.append("files", new Blob([$("ui-source").value], { type: "application/json" }), config.uiFile);
      }
      form.append("message", message);
      return fetch(config.deployUrl, { method: "POST", body: form, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (result) {
        if (result.status === 201 || result.status === 200) {
          status("已部署第 " + result.body.version + " 版 Deployed version " + result.body.version, "ok");
        } else {
          var error = result.body.error || {};
          var problems = (error.details && error.details.problems) || [];
          status(problems.length ? problems.map(function (p) { return p.reason; }).join("；") : error.message, "error");
        }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!$("schema-source")) { return; }
    ["schema-source", "ui-source"].forEach(function (id) { if ($(id)) { $(id).addEventListener("input", schedule); } });
    if ($("form-deploy")) { $("form-deploy").addEventListener("click", deploy); }
    preview();
  });
})();
