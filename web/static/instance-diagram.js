/* Draw the instance's BPMN model with bpmn-js (NavigatedViewer) and mark its completed, active (ready),
   late and suspended tasks; the element ids come from the page (data-*-tasks attributes, JSON lists). */
(function () {
  "use strict";

  function showMessage(container, text) {
    var p = document.createElement("p");
    p.className = "diagram-status muted";
    p.textContent = text;
    container.replaceChildren(p);
  }

  // data attribute -> marker class (CSS in pages.css; the legend on the page uses the same colours)
  var MARKERS = {
    completedTasks: "completed-task",
    readyTasks: "ready-task",
    lateTasks: "late-task",
    suspendedTasks: "suspended-task"
  };

  function idList(container, key) {
    try {
      var names = JSON.parse(container.dataset[key] || "[]");
      return Array.isArray(names) ? names : [];
    } catch (e) {
      return [];
    }
  }

  function markTasks(viewer, container) {
    var registry = viewer.get("elementRegistry");
    var canvas = viewer.get("canvas");
    Object.keys(MARKERS).forEach(function (key) {
      idList(container, key).forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, MARKERS[key]);
        }
      });
    });
  }

  function draw(container) {
    if (typeof window.BpmnJS !== "function") {
      showMessage(container, "流程圖元件未載入 The diagram viewer could not be loaded");
      return;
    }
    fetch(container.dataset.bpmnUrl, { credentials: "same-origin", headers: { Accept: "application/xml" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        container.replaceChildren();
        var viewer = new window.BpmnJS({ container: container });
        return viewer.importXML(xml).then(function () {
          viewer.get("canvas").zoom("fit-viewport", "auto");
          markTasks(viewer, container);
          container.dataset.rendered = "true";
        });
      })
      .catch(function () {
        showMessage(container, "無法顯示流程圖 The diagram could not be shown");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("diagram");
    if (container && container.dataset.bpmnUrl) {
      draw(container);
    }
  });
})();
