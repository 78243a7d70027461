/* The modeler page: bpmn-js Modeler (or the viewer, read-only) with the properties panel and our WebIR panel;
   Validate and Deploy through the REST API (session + X-CSRFToken); drafts kept on the server per analyst;
   a test run on a throwaway sandbox (modeler-testrun.js); bpmn-js and the panel in zh-TW (modeler-i18n.js). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("modeler-config").textContent);
  var canvasEl = document.getElementById("canvas");
  var statusEl = document.getElementById("modeler-status");
  var modeler = null, panel = null, marked = [];

  function $(id) { return document.getElementById(id); }

  function status(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "modeler-status" + (kind ? " is-" + kind : "");
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function createModeler() {
    var panels = window.BpmnJSPropertiesPanel;
    var translate = window.WebirI18n ? [window.WebirI18n.module] : [];
    if (!config.canDeploy) { return new window.BpmnJS({ container: canvasEl, additionalModules: translate }); }
    var options = { container: canvasEl, additionalModules: translate.slice() };
    if (panels) {
      options.additionalModules.push(panels.BpmnPropertiesPanelModule, panels.BpmnPropertiesProviderModule);
      options.propertiesPanel = { parent: "#properties-panel" };
    }
    return new window.BpmnJS(options);
  }

  function api(method, url, body) {
    var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { status: response.status, body: json };
        });
      });
  }

  function clearMarkers() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "problem"); });
    marked = [];
  }

  function focusElement(id) {
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return false; }
    modeler.get("selection").select(element);
    if (!element.waypoints) { modeler.get("canvas").scrollToElement(element); }
    return true;
  }

  function problemText(p) {
    var where = (p.file || "") + (p.line ? ":" + p.line : "");
    return (where ? where + " " : "") + (p.element ? "「" + p.element + "」 " : "") + p.reason;
  }

  function showProblems(problems) {
    var list = $("problem-list"), canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    clearMarkers();
    list.replaceChildren();
    problems.forEach(function (p) {
      var item = document.createElement("li");
      if (p.element && registry.get(p.element)) {
        canvas.addMarker(p.element, "problem");
        marked.push(p.element);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button-link problem-link";
        button.dataset.element = p.element;
        button.textContent = problemText(p);
        button.addEventListener("click", function () { focusElement(p.element); });
        item.appendChild(button);
      } else {
        item.textContent = problemText(p);
      }
      list.appendChild(item);
    });
    $("problems").hidden = problems.length === 0;
    var first = problems.filter(function (p) { return p.element && registry.get(p.element); })[0];
    if (first) { focusElement(first.element); }
  }

  function modelForm(xml, message) {
    var form = new FormData();
    form.append("files", new Blob([xml], { type: "application/xml" }), config.bpmnFilename);
    if (message !== undefined) { form.append("message", message); }
    return form;
  }

  function post(url, form) {
    return fetch(url, {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function refused(result) {
    var error = result.body.error || {};
    var problems = (error.details && error.details.problems) || [];
    if (problems.length) {
      showProblems(problems);
      status("模型有 " + problems.length + " 個問題 The model has " + problems.length + " problem(s)", "error");
    } else {
      status(error.message || ("HTTP " + result.status), "error");
    }
  }

  function withXml(action) {
    return modeler.saveXML({ format: true }).then(function (saved) { return action(saved.xml); })
      .catch(function (err) { status("無法產生 BPMN The model could not be saved: " + err.message, "error"); });
  }

  function validate() {
    status("驗證中… Validating…");
    return withXml(function (xml) {
      return post(config.validateUrl, modelForm(xml)).then(function (result) {
        if (result.status === 200) {
          showProblems([]);
          status("模型有效 The model is valid", "ok");
        } else {
          refused(result);
        }
      });
    });
  }

  function deployed(result) {
    showProblems([]);
    api("DELETE", config.draftUrl);  // deployed: the draft has served its purpose
    $("draft-notice").hidden = true;
    var version = result.body.version;
    status(result.body.unchanged ? "沒有變更，仍為第 " + version + " 版 Unchanged: still version " + version
      : "已部署第 " + version + " 版 Deployed version " + version, "ok");
    var link = document.createElement("a");
    link.href = config.modelerUrl + "?version=" + version;
    link.className = "deployed-link";
    link.textContent = " 開啟第 " + version + " 版 Open version " + version;
    statusEl.appendChild(link);
    config.version = version;
  }

  function deploy() {
    var message = $("deploy-message").value.trim();
    if (!message) {
      status("請輸入部署說明 Enter a deploy message", "error");
      $("deploy-message").focus();
      return Promise.resolve();
    }
    status("部署中… Deploying…");
    return withXml(function (xml) {
      return post(config.deployUrl, modelForm(xml, message)).then(function (result) {
        if (result.status === 201 || result.status === 200) { deployed(result); } else { refused(result); }
      });
    });
  }

  function download() {
    withXml(function (xml) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      link.download = config.bpmnFilename.split("/").pop();
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  }

  function saveDraft() {
    withXml(function (xml) {
      return api("PUT", config.draftUrl, { bpmn: xml, base_version: config.version }).then(function (result) {
        if (result.status === 200) {
          status("草稿已存於伺服器（未部署） Draft saved on the server (not deployed)", "ok");
        } else {
          status((result.body.error || {}).message || ("HTTP " + result.status), "error");
        }
      });
    });
  }

  function offerDraft() {
    if (!config.canDeploy) { return; }
    api("GET", config.draftUrl).then(function (result) {
      var draft = result.status === 200 ? result.body : null;
      if (!draft || !draft.bpmn) { return; }
      $("draft-text").textContent = "有未部署的草稿（第 " + draft.base_version + " 版起，" +
        draft.saved_at.slice(0, 16).replace("T", " ") + "） There is an undeployed draft (from version " +
        draft.base_version + ")";
      $("draft-notice").hidden = false;
      $("draft-restore").onclick = function () {
        modeler.importXML(draft.bpmn).then(function () {
          $("draft-notice").hidden = true;
          afterImport();
          status("已還原草稿 Draft restored", "ok");
        });
      };
      $("draft-discard").onclick = function () {
        api("DELETE", config.draftUrl).then(function () { $("draft-notice").hidden = true; });
      };
    });
  }

  function fitBesidePalette() {
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    if (config.canDeploy) {  // leave room on the left for the palette, which floats over the canvas
      canvas.zoom(canvas.zoom() * 0.85, { x: 0, y: 0 });
      canvas.scroll({ dx: 130, dy: 10 });
    }
  }

  function afterImport() {
    fitBesidePalette();
    if (panel) {
      panel.ext = new window.WebirPanel.Extensions(modeler);  // a restored draft brings new definitions
    } else {
      panel = new window.WebirPanel.Panel(modeler, config, $("spiff-fields"), !config.canDeploy);
      panel.onChange = function () { status("已修改，尚未部署 Changed, not deployed"); };
    }
    panel.show(null);
    canvasEl.dataset.rendered = "true";
  }

  function wire() {
    if (config.canDeploy) {
      $("validate-button").addEventListener("click", validate);
      $("deploy-button").addEventListener("click", deploy);
      $("save-draft").addEventListener("click", saveDraft);
      if (window.WebirTestRun) { new window.WebirTestRun(modeler, config, status).wire(); }
      modeler.on("commandStack.changed", function () { status("已修改，尚未部署 Changed, not deployed"); });
    }
    $("download-xml").addEventListener("click", download);
  }

  function loadCatalog() {
    config.catalog = { processes: [], messages: [], decisions: [] };
    if (!config.canDeploy) { return Promise.resolve(); }
    return api("GET", config.catalogUrl).then(function (result) {
      if (result.status === 200) { config.catalog = result.body; }
    }).catch(function () { /* the pickers fall back to free text */ });
  }

  function start() {
    if (typeof window.BpmnJS !== "function") {
      canvasEl.textContent = "流程圖元件未載入 The modeler could not be loaded";
      return;
    }
    fetch(config.bpmnUrl, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (xml) {
        canvasEl.replaceChildren();
        modeler = createModeler();
        window.webirModeler = modeler;  // for the browser tests and the curious
        return modeler.importXML(xml);
      })
      .then(loadCatalog)
      .then(function () { afterImport(); wire(); offerDraft(); })
      .catch(function (err) { status("無法載入模型 The model could not be loaded: " + err.message, "error"); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
