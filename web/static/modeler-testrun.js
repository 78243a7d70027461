/* Test run of the diagram being edited: POST /api/v1/test-runs starts it on a throwaway sandbox with its own
   simulated clock (nothing reaches the real process list); each ready step offers sample data to edit and
   complete; the clock can be advanced; the path taken is marked green on the diagram, waiting steps amber. */
(function () {
  "use strict";

  var el = function (tag, attrs, children) { return window.WebirPanel.el(tag, attrs, children); };

  function TestRun(modeler, config, status) {
    this.modeler = modeler;
    this.config = config;
    this.status = status;  // function (text, kind) of the page's status line
    this.run = null;
    this.marked = [];
  }

  TestRun.prototype.$ = function (id) { return document.getElementById(id); };

  TestRun.prototype.csrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  TestRun.prototype.call = function (method, url, body) {
    var headers = { "X-CSRFToken": this.csrf(), Accept: "application/json" };
    if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    return fetch(url, { method: method, body: body, credentials: "same-origin", headers: headers })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { status: response.status, body: json };
        });
      });
  };

  TestRun.prototype.start = function () {
    var self = this;
    this.status("試跑啟動中… Starting a test run…");
    return this.modeler.saveXML({ format: true }).then(function (saved) {
      var form = new FormData();
      form.append("files", new Blob([saved.xml], { type: "application/xml" }), self.config.bpmnFilename);
      form.append("process_id", self.config.processId);
      var data = self.$("test-run-data");
      if (data && data.value.trim()) { form.append("data", data.value.trim()); }
      return self.call("POST", self.config.testRunsUrl, form);
    }).then(function (result) {
      if (result.status !== 201) { return self.refused(result); }
      self.status("試跑已開始（沙盒） Test run started (sandbox)", "ok");
      self.show(result.body);
    });
  };

  TestRun.prototype.refused = function (result) {
    var error = result.body.error || {}, details = error.details || {};
    var problems = (details.problems || []).map(function (p) { return (p.element ? p.element + ": " : "") + p.reason; });
    var fields = Object.keys(details.fields || {}).map(function (k) { return k + ": " + details.fields[k]; });
    this.status((error.message || "HTTP " + result.status) + (problems.concat(fields).length ? " — " +
      problems.concat(fields).join("; ") : ""), "error");
    return fields;
  };

  TestRun.prototype.url = function (suffix) {
    return this.config.testRunsUrl + "/" + encodeURIComponent(this.run.id) + (suffix || "");
  };

  TestRun.prototype.complete = function (task, textarea, errors) {
    var self = this, data;
    try { data = JSON.parse(textarea.value || "{}"); } catch (e) {
      errors.textContent = "不是有效的 JSON Not valid JSON: " + e.message;
      return Promise.resolve();
    }
    return this.call("POST", this.url("/tasks/" + task.id + "/complete"), { data: data }).then(function (result) {
      if (result.status === 200) { self.status("已完成 " + task.name + " Completed", "ok"); self.show(result.body); return; }
      errors.textContent = self.refused(result).join("；");
    });
  };

  TestRun.prototype.advance = function () {
    var self = this, value = this.$("test-run-advance").value.trim();
    return this.call("POST", this.url("/clock"), { advance: value }).then(function (result) {
      if (result.status === 200) { self.status("時鐘已前進 " + value + " Clock advanced", "ok"); self.show(result.body); }
      else { self.refused(result); }
    });
  };

  TestRun.prototype.end = function () {
    var self = this;
    if (!this.run) { return Promise.resolve(); }
    return this.call("DELETE", this.url()).then(function () {
      self.run = null;
      self.clearMarkers();
      self.$("test-run").hidden = true;
      self.status("試跑已結束，沙盒已刪除 Test run ended, sandbox removed", "ok");
    });
  };

  TestRun.prototype.clearMarkers = function () {
    var canvas = this.modeler.get("canvas");
    this.marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    this.marked = [];
  };

  TestRun.prototype.mark = function (id, marker) {
    if (!this.modeler.get("elementRegistry").get(id)) { return; }
    this.modeler.get("canvas").addMarker(id, marker);
    this.marked.push([id, marker]);
  };

  TestRun.prototype.taskItem = function (task) {
    var self = this, textarea = el("textarea", { "aria-label": "表單資料 Form data (JSON) " + task.name });
    textarea.value = JSON.stringify(task.sample_data || {}, null, 2);
    var errors = el("p", { "class": "field-errors", role: "alert" });
    var button = el("button", { type: "button", "class": "secondary", "data-task": task.name,
      text: "完成 Complete" });
    button.addEventListener("click", function () { self.complete(task, textarea, errors); });
    var who = task.assignee || task.role || "applicant";
    return el("li", { "data-task": task.name }, [
      el("strong", { text: task.title || task.name }), el("span", { "class": "muted", text: " · " + task.name + " · " + who }),
      task.instructions ? el("details", {}, [el("summary", { text: "說明 Instructions" }),
        el("pre", { text: task.instructions })]) : null,
      textarea, errors, button]);
  };

  TestRun.prototype.show = function (run) {
    var self = this, seen = {};
    this.run = run;
    this.$("test-run").hidden = false;
    this.$("test-run-clock").textContent = run.clock.replace("T", " ").slice(0, 19);
    this.$("test-run-status").textContent = run.status;
    this.$("test-run-error").textContent = run.error || "";
    var list = this.$("test-run-tasks");
    list.replaceChildren();
    run.ready_tasks.forEach(function (task) { list.appendChild(self.taskItem(task)); });
    if (!run.ready_tasks.length) {
      list.appendChild(el("li", { "class": "muted", text: run.status === "completed" ? "流程已結束 The process ended"
        : "沒有待辦步驟（等待計時器或訊息） No ready step (waiting for a timer or a message)" }));
    }
    this.$("test-run-path").textContent = run.path.join(" → ");
    this.clearMarkers();
    run.path.forEach(function (id) { if (!seen[id]) { seen[id] = true; self.mark(id, "test-run-done"); } });
    run.ready_tasks.forEach(function (task) { self.mark(task.name, "test-run-ready"); });
  };

  TestRun.prototype.wire = function () {
    var self = this;
    this.$("test-run-start").addEventListener("click", function () {
      (self.run ? self.end() : Promise.resolve()).then(function () { return self.start(); });
    });
    this.$("test-run-advance-button").addEventListener("click", function () { self.advance(); });
    this.$("test-run-end").addEventListener("click", function () { self.end(); });
  };

  window.WebirTestRun = TestRun;
})();
