/* Our side panel for the SpiffWorkflow extensions WebIR uses: lane -> role, form files (or form-less),
   instructions, pre/post scripts, clause ids (`regulation`), timers with a readable preview, and pickers for
   called processes, DMN decisions and message names (from GET /api/v1/process-models/catalog).
   The spiffworkflow namespace is not registered with bpmn-moddle, so its elements are kept as generic
   elements ($children, $body) and written back unchanged: nothing in a model is lost by editing it here. */
(function () {
  "use strict";

  var SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var TIMER_KINDS = [["timeDuration", "期間 Duration"], ["timeDate", "日期時間 Date"], ["timeCycle", "週期 Cycle"]];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else if (attrs[key] !== undefined && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function isSpiff(node, localName) {
    var d = node && node.$descriptor;
    return !!(d && d.ns && d.ns.uri === SPIFF_NS && d.ns.localName === localName);
  }

  function Extensions(modeler) {
    this.moddle = modeler.get("moddle");
    this.definitions = modeler.getDefinitions();
  }

  Extensions.prototype.prefix = function () {
    var attrs = this.definitions.$attrs || {};
    var found = Object.keys(attrs).filter(function (k) { return k.indexOf("xmlns:") === 0 && attrs[k] === SPIFF_NS; })[0];
    if (found) { return found.slice(6); }
    attrs["xmlns:spiffworkflow"] = SPIFF_NS;
    return "spiffworkflow";
  };

  Extensions.prototype.values = function (bo) {
    return (bo.extensionElements && bo.extensionElements.values) || [];
  };

  Extensions.prototype.find = function (bo, localName) {
    return this.values(bo).filter(function (v) { return isSpiff(v, localName); })[0] || null;
  };

  Extensions.prototype.create = function (localName, attrs) {
    return this.moddle.createAny(this.prefix() + ":" + localName, SPIFF_NS, attrs || {});
  };

  Extensions.prototype.ensure = function (bo, localName) {
    var found = this.find(bo, localName);
    if (found) { return found; }
    if (!bo.extensionElements) {
      bo.extensionElements = this.moddle.create("bpmn:ExtensionElements", { values: [] });
      bo.extensionElements.$parent = bo;
    }
    found = this.create(localName);
    found.$parent = bo.extensionElements;
    bo.extensionElements.get("values").push(found);
    return found;
  };

  Extensions.prototype.drop = function (bo, node) {
    var values = this.values(bo), i = values.indexOf(node);
    if (i >= 0) { values.splice(i, 1); }
    if (bo.extensionElements && !values.length) { bo.extensionElements = undefined; }
  };

  Extensions.prototype.properties = function (bo) {
    var found = {}, props = this.find(bo, "properties");
    ((props && props.$children) || []).forEach(function (c) {
      if (isSpiff(c, "property") && c.name) { found[c.name] = c.value || ""; }
    });
    return found;
  };

  Extensions.prototype.setProperty = function (bo, name, value) {
    var props = value ? this.ensure(bo, "properties") : this.find(bo, "properties");
    if (!props) { return; }
    var children = props.$children = props.$children || [];
    var existing = children.filter(function (c) { return isSpiff(c, "property") && c.name === name; })[0];
    if (!value) {
      if (existing) { children.splice(children.indexOf(existing), 1); }
      if (!children.length) { this.drop(bo, props); }
      return;
    }
    if (existing) { existing.value = value; return; }
    var property = this.create("property", { name: name, value: value });
    property.$parent = props;
    children.push(property);
  };

  Extensions.prototype.body = function (bo, localName) {
    var found = this.find(bo, localName);
    return found ? (found.$body || "") : "";
  };

  Extensions.prototype.setBody = function (bo, localName, text) {
    if (!text) {
      var found = this.find(bo, localName);
      if (found) { this.drop(bo, found); }
      return;
    }
    this.ensure(bo, localName).$body = text;
  };

  function Panel(modeler, config, container, readOnly) {
    this.modeler = modeler;
    this.config = config;
    this.container = container;
    this.readOnly = readOnly;
    this.ext = new Extensions(modeler);
    this.element = null;
    this.onChange = function () {};
    var self = this;
    modeler.on("selection.changed", function (event) { self.show(event.newSelection[0] || null); });
    modeler.on("elements.changed", function (event) {
      var mine = self.element && event.elements.indexOf(self.element) >= 0;
      if (mine && !container.contains(document.activeElement)) { self.show(self.element); }
    });
  }

  Panel.prototype.changed = function (element) {
    this.modeler.get("eventBus").fire("elements.changed", { elements: [element] });
    this.onChange();
  };

  Panel.prototype.field = function (id, label, control, help) {
    control.id = id;
    if (this.readOnly) { control.disabled = true; }
    return el("div", { "class": "field" }, [el("label", { "for": id, text: label }), control,
      help ? el("p", { "class": "help", text: help }) : null]);
  };

  Panel.prototype.text = function (id, label, value, commit, options) {
    options = options || {};
    var input = el(options.multiline ? "textarea" : "input", options.multiline ? {} : { type: "text" });
    input.value = value || "";
    if (options.list) { input.setAttribute("list", options.list); }
    if (options.placeholder) { input.placeholder = options.placeholder; }
    input.addEventListener("change", function () { commit(input.value.trim() === "" ? "" : input.value); });
    if (options.onInput) { input.addEventListener("input", function () { options.onInput(input.value); }); }
    return this.field(id, label, input, options.help);
  };

  Panel.prototype.show = function (element) {
    this.element = element;
    this.container.replaceChildren();
    if (!element) {
      this.container.appendChild(el("p", { "class": "muted", text: "選取圖上的元素以編輯設定 Select an element to edit its settings" }));
      this.processSection(this.rootProcess());
      return;
    }
    var bo = element.businessObject;
    this.container.appendChild(el("p", { "class": "element-kind", text: bo.$type.replace("bpmn:", "") + " · " + bo.id }));
    this.sections(element, bo);
  };

  Panel.prototype.rootProcess = function () {
    var root = this.modeler.get("canvas").getRootElement().businessObject;
    if (root.$type === "bpmn:Collaboration") {
      var participant = (root.participants || []).filter(function (p) { return p.processRef; })[0];
      return participant ? participant.processRef : null;
    }
    return root;
  };

  Panel.prototype.sections = function (element, bo) {
    var type = bo.$type;
    if (type === "bpmn:Lane") { this.laneSection(element, bo); }
    if (type === "bpmn:Participant" && bo.processRef) { this.processSection(bo.processRef); return; }
    if (type === "bpmn:Process") { this.processSection(bo); return; }
    if (type === "bpmn:UserTask") { this.formSection(element, bo); }
    if (type === "bpmn:ScriptTask") { this.scriptSection(element); }
    if (type === "bpmn:CallActivity") { this.calledSection(element, bo); }
    if (type === "bpmn:BusinessRuleTask") { this.decisionSection(element, bo); }
    this.messageSection(element, bo);
    var timer = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (timer) { this.timerSection(element, timer); }
    if (/Task$|CallActivity|SubProcess/.test(type)) { this.hookSection(element, bo); }
    if (type !== "bpmn:Lane" && type !== "bpmn:SequenceFlow" && type !== "bpmn:TextAnnotation") {
      this.clauseSection(element, bo);
    }
  };

  Panel.prototype.laneSection = function (element, bo) {
    var self = this, select = el("select"), known = false;
    select.appendChild(el("option", { value: "", text: "— 選擇角色 Choose a role —" }));
    this.config.roles.forEach(function (role) {
      known = known || role.id === bo.name;
      select.appendChild(el("option", { value: role.id, text: role.id + " · " + role.zh + " " + role.en }));
    });
    if (bo.name && !known) {
      var mapped = (this.config.laneMap || {})[bo.name];
      select.appendChild(el("option", { value: bo.name, text: bo.name + (mapped ? " → " + mapped + " (lanes.json)"
        : " · 未知角色 unknown role") }));
    }
    select.value = bo.name || "";
    select.addEventListener("change", function () {
      self.modeler.get("modeling").updateProperties(element, { name: select.value || undefined });
    });
    this.container.appendChild(this.field("spiff-lane-role", "泳道角色 Lane role (lane name)", select,
      "泳道名稱就是負責的角色 The lane name is the role that does its tasks"));
  };

  Panel.prototype.formSection = function (element, bo) {
    var self = this, props = this.ext.properties(bo);
    var setter = function (name) {
      return function (value) { self.ext.setProperty(bo, name, value.trim()); self.changed(element); };
    };
    this.container.appendChild(el("h3", { text: "表單 Form" }));
    this.datalist();
    this.container.appendChild(this.text("spiff-form", "表單結構檔 Form schema file", props.formJsonSchemaFilename,
      setter("formJsonSchemaFilename"), { list: "spiff-form-files", placeholder: "forms/" + bo.id + ".schema.json" }));
    this.container.appendChild(this.text("spiff-ui-form", "表單版面檔 UI schema file (optional)",
      props.formUiSchemaFilename, setter("formUiSchemaFilename"), { list: "spiff-form-files" }));
    var box = el("input", { type: "checkbox", id: "spiff-formless" });
    box.checked = (props.formless || "").toLowerCase() === "true";
    box.disabled = this.readOnly;
    box.addEventListener("change", function () { setter("formless")(box.checked ? "true" : ""); });
    this.container.appendChild(el("div", { "class": "field field-checkbox" }, [box,
      el("label", { "for": "spiff-formless", text: "不需表單 No form, on purpose" })]));
    this.container.appendChild(this.text("spiff-instructions", "說明 Instructions (Jinja2, Markdown)",
      this.ext.body(bo, "instructionsForEndUser"), function (value) {
        self.ext.setBody(bo, "instructionsForEndUser", value); self.changed(element);
      }, { multiline: true }));
    this.dueField(element, bo, props);
  };

  Panel.prototype.dueField = function (element, bo, props) {
    var self = this, preview = el("p", { "class": "preview", id: "spiff-due-preview" });
    var update = function (value) {
      var r = value.trim() ? window.WebirTimer.describe("timeDuration", JSON.stringify(value.trim())) : null;
      preview.textContent = r ? (r.ok ? "期限 Due " + r.en.replace("fires ", "").replace(" after it starts waiting", " after the task is ready") : r.zh + " " + r.en) : "";
      preview.className = "preview" + (r && !r.ok ? " is-error" : "");
    };
    this.container.appendChild(this.text("spiff-due", "處理期限 Due in (ISO 8601, e.g. P5D)", props.dueIn,
      function (value) { self.ext.setProperty(bo, "dueIn", value.trim()); self.changed(element); },
      { onInput: update }));
    this.container.appendChild(preview);
    update(props.dueIn || "");
  };

  Panel.prototype.datalist = function () {
    if (document.getElementById("spiff-form-files")) { return; }
    var list = el("datalist", { id: "spiff-form-files" });
    this.config.formFiles.forEach(function (name) { list.appendChild(el("option", { value: name })); });
    document.body.appendChild(list);
  };

  Panel.prototype.catalog = function () {
    return this.config.catalog || { processes: [], messages: [], decisions: [] };
  };

  Panel.prototype.options = function (id, values) {
    var list = document.getElementById(id);
    if (!list) { list = el("datalist", { id: id }); document.body.appendChild(list); }
    list.replaceChildren();
    values.forEach(function (v) { list.appendChild(el("option", { value: v[0], label: v[1] || v[0] })); });
  };

  Panel.prototype.calledSection = function (element, bo) {
    var self = this, known = {};
    this.catalog().processes.forEach(function (p) { known[p.process_id] = p.name; });
    this.options("spiff-process-ids", this.catalog().processes.map(function (p) { return [p.process_id, p.name]; }));
    var note = el("p", { "class": "preview", id: "spiff-called-note" });
    var check = function (value) {
      var id = value.trim();
      note.className = "preview" + (id && !known[id] ? " is-warning" : "");
      note.textContent = !id ? "" : known[id] ? known[id] : "尚未部署的流程 Not a deployed process (deploy it with this one)";
    };
    this.container.appendChild(el("h3", { text: "呼叫流程 Called process" }));
    this.container.appendChild(this.text("spiff-called-process", "流程代號 Process id (calledElement)", bo.calledElement,
      function (value) {
        self.modeler.get("modeling").updateProperties(element, { calledElement: value.trim() || undefined });
      }, { list: "spiff-process-ids", onInput: check }));
    this.container.appendChild(note);
    check(bo.calledElement || "");
  };

  Panel.prototype.decisionSection = function (element, bo) {
    var self = this;
    this.options("spiff-decision-ids", this.catalog().decisions.map(function (d) { return [d]; }));
    this.container.appendChild(el("h3", { text: "決策表 DMN decision" }));
    this.container.appendChild(this.text("spiff-decision", "決策代號 Decision id (calledDecisionId)",
      this.ext.body(bo, "calledDecisionId"), function (value) {
        self.ext.setBody(bo, "calledDecisionId", value.trim()); self.changed(element);
      }, { list: "spiff-decision-ids" }));
  };

  Panel.prototype.messageTarget = function (bo) {
    if (bo.$type === "bpmn:ReceiveTask" || bo.$type === "bpmn:SendTask") { return bo; }
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:MessageEventDefinition"; })[0];
  };

  Panel.prototype.messageNamed = function (name) {
    var definitions = this.modeler.getDefinitions();
    var found = (definitions.rootElements || []).filter(function (r) {
      return r.$type === "bpmn:Message" && r.name === name;
    })[0];
    if (!found) {
      found = this.modeler.get("bpmnFactory").create("bpmn:Message", { name: name });
      found.$parent = definitions;
      definitions.get("rootElements").push(found);
    }
    return found;
  };

  Panel.prototype.messageSection = function (element, bo) {
    var self = this, target = this.messageTarget(bo);
    if (!target) { return; }
    var here = (this.modeler.getDefinitions().rootElements || []).filter(function (r) {
      return r.$type === "bpmn:Message" && r.name;
    }).map(function (r) { return r.name; });
    var names = this.catalog().messages.concat(here).filter(function (n, i, all) { return all.indexOf(n) === i; }).sort();
    this.options("spiff-message-names", names.map(function (n) { return [n]; }));
    this.container.appendChild(el("h3", { text: "訊息 Message" }));
    this.container.appendChild(this.text("spiff-message", "訊息名稱 Message name", target.messageRef ?
      target.messageRef.name : "", function (value) {
        var ref = value.trim() ? self.messageNamed(value.trim()) : undefined;
        if (target === bo) {
          self.modeler.get("modeling").updateProperties(element, { messageRef: ref });
        } else {
          self.modeler.get("modeling").updateModdleProperties(element, target, { messageRef: ref });
        }
        self.onChange();
      }, { list: "spiff-message-names" }));
  };

  Panel.prototype.scriptSection = function (element) {
    var self = this, bo = element.businessObject;
    this.container.appendChild(this.text("spiff-script", "腳本 Script (Python, restricted)", bo.script,
      function (value) {
        self.modeler.get("modeling").updateProperties(element, { scriptFormat: bo.scriptFormat || "python", script: value });
      }, { multiline: true }));
  };

  Panel.prototype.hookSection = function (element, bo) {
    var self = this;
    [["preScript", "spiff-prescript", "前置腳本 Pre-script"], ["postScript", "spiff-postscript", "後置腳本 Post-script"]]
      .forEach(function (hook) {
        self.container.appendChild(self.text(hook[1], hook[2], self.ext.body(bo, hook[0]), function (value) {
          self.ext.setBody(bo, hook[0], value); self.changed(element);
        }, { multiline: true }));
      });
  };

  Panel.prototype.processSection = function (process) {
    if (!process) { return; }
    this.container.appendChild(el("h3", { text: "流程 Process " + process.id }));
    this.clauseSection(null, process);
  };

  Panel.prototype.clauseSection = function (element, bo) {
    var self = this, known = {}, note = el("p", { "class": "preview", id: "spiff-clauses-note" });
    this.config.clauses.forEach(function (c) { known[c.id] = c.gist; });
    var check = function (value) {
      var ids = value.split(",").map(function (c) { return c.trim(); }).filter(Boolean);
      var unknown = ids.filter(function (c) { return !known[c]; });
      note.className = "preview" + (unknown.length ? " is-error" : "");
      note.textContent = unknown.length ? "未知條文 Unknown clause: " + unknown.join(", ")
        : ids.map(function (c) { return c + " " + known[c]; }).join("；");
    };
    var props = this.ext.properties(bo);
    this.container.appendChild(this.text("spiff-clauses", "條文 Clause ids (regulation), e.g. R5.3, R5.5",
      props.regulation, function (value) {
        self.ext.setProperty(bo, "regulation", value.split(",").map(function (c) { return c.trim(); })
          .filter(Boolean).join(","));
        if (element) { self.changed(element); } else { self.onChange(); }
      }, { onInput: check }));
    this.container.appendChild(note);
    check(props.regulation || "");
  };

  Panel.prototype.timerSection = function (element, timer) {
    var self = this, kind = el("select"), current = "timeDuration";
    TIMER_KINDS.forEach(function (k) {
      kind.appendChild(el("option", { value: k[0], text: k[1] }));
      if (timer[k[0]]) { current = k[0]; }
    });
    kind.value = current;
    var expression = timer[current] ? timer[current].body || "" : "";
    var preview = el("p", { "class": "preview", id: "spiff-timer-preview", "aria-live": "polite" });
    var input = el("input", { type: "text", placeholder: "\"P5D\"" });
    input.value = expression;
    var update = function () {
      var r = window.WebirTimer.describe(kind.value, input.value, self.config.timezone);
      preview.textContent = r.zh + " " + r.en + (r.warning ? "。" + r.warning : "");
      preview.className = "preview" + (r.ok ? "" : " is-error");
    };
    var commit = function () {
      var values = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      values[kind.value] = self.modeler.get("bpmnFactory").create("bpmn:FormalExpression", { body: input.value });
      self.modeler.get("modeling").updateModdleProperties(element, timer, values);
      self.onChange();
    };
    input.addEventListener("input", update);
    kind.addEventListener("change", function () { update(); commit(); });
    input.addEventListener("change", commit);
    this.container.appendChild(el("h3", { text: "計時器 Timer" }));
    this.container.appendChild(this.field("spiff-timer-kind", "種類 Kind", kind));
    this.container.appendChild(this.field("spiff-timer", "運算式 Expression (Python string, e.g. \"P5D\")", input));
    this.container.appendChild(preview);
    update();
  };

  window.WebirPanel = { Panel: Panel, Extensions: Extensions, el: el, TIMER_KINDS: TIMER_KINDS };
})();
