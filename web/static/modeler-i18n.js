/* The modeler in Traditional Chinese first, English second: a bpmn-js `translate` module for the palette,
   context pad, replace menu, properties panel and the messages bpmn-js shows. Untranslated texts stay English. */
(function () {
  "use strict";

  var ZH = {
    // palette
    "Activate hand tool": "拖曳工具", "Activate the hand tool": "拖曳工具", "Activate lasso tool": "圈選工具",
    "Activate the lasso tool": "圈選工具", "Activate create/remove space tool": "插入或移除空間",
    "Activate the create/remove space tool": "插入或移除空間", "Activate global connect tool": "連線工具",
    "Activate the global connect tool": "連線工具", "Create start event": "新增開始事件",
    "Create intermediate/boundary event": "新增中間或邊界事件", "Create end event": "新增結束事件",
    "Create gateway": "新增閘道", "Create task": "新增任務", "Create data object reference": "新增資料物件",
    "Create data store reference": "新增資料儲存", "Create expanded sub-process": "新增展開子流程",
    "Create pool/participant": "新增泳池（參與者）", "Create group": "新增群組",
    // context pad
    "Append end event": "接續結束事件", "Append gateway": "接續閘道", "Append task": "接續任務",
    "Append intermediate/boundary event": "接續中間事件", "Append text annotation": "接續文字註解",
    "Change type": "變更類型", "Change element": "變更元素", "Delete": "刪除", "Remove": "刪除",
    "Connect using sequence/message flow or association": "以順序流、訊息流或關聯連線",
    "Connect to other element": "連線至其他元素",
    "Connect using association": "以關聯連線", "Connect using data input association": "以資料輸入關聯連線",
    "Add text annotation": "新增文字註解", "Add lane above": "在上方新增泳道", "Add lane below": "在下方新增泳道",
    "Divide into two lanes": "分成兩條泳道", "Divide into three lanes": "分成三條泳道",
    "Append compensation activity": "接續補償活動", "Append receive task": "接續接收任務",
    "Append message intermediate catch event": "接續訊息中間事件",
    "Append timer intermediate catch event": "接續計時中間事件",
    "Append condition intermediate catch event": "接續條件中間事件",
    "Append signal intermediate catch event": "接續信號中間事件",
    // replace menu and element types
    "Task": "任務", "User task": "使用者任務", "Service task": "服務任務", "Script task": "腳本任務",
    "Business rule task": "商業規則任務", "Send task": "傳送任務", "Receive task": "接收任務",
    "Manual task": "人工任務", "Call activity": "呼叫活動", "Sub-process (collapsed)": "子流程（收合）",
    "Sub-process (expanded)": "子流程（展開）", "Sub-process": "子流程", "Transaction": "交易子流程",
    "Event sub-process": "事件子流程", "Start event": "開始事件", "End event": "結束事件",
    "Intermediate throw event": "中間拋出事件", "Message start event": "訊息開始事件",
    "Timer start event": "計時開始事件", "Conditional start event": "條件開始事件",
    "Signal start event": "信號開始事件", "Message end event": "訊息結束事件", "Error end event": "錯誤結束事件",
    "Terminate end event": "終止結束事件", "Escalation end event": "升級結束事件", "Signal end event": "信號結束事件",
    "Message intermediate catch event": "訊息中間捕捉事件", "Message intermediate throw event": "訊息中間拋出事件",
    "Timer intermediate catch event": "計時中間事件", "Exclusive gateway": "互斥閘道",
    "Parallel gateway": "平行閘道", "Inclusive gateway": "包容閘道", "Event-based gateway": "事件閘道",
    "Complex gateway": "複合閘道", "Sequential multi-instance": "循序多例", "Parallel multi-instance": "平行多例",
    "Loop": "迴圈", "Default flow": "預設流程", "Conditional flow": "條件流程", "Sequence flow": "順序流",
    // properties panel
    "General": "一般", "Name": "名稱", "ID": "代號", "Documentation": "說明文件",
    "Element documentation": "元素說明", "Process documentation": "流程說明", "Executable": "可執行",
    "Version tag": "版本標記", "Timer": "計時器", "Type": "類型", "Value": "值", "Message": "訊息",
    "Global message reference": "訊息參照", "Multi-instance": "多例", "Condition": "條件",
    "Condition expression": "條件運算式", "Loop cardinality": "迴圈次數", "Completion condition": "完成條件",
    "Signal": "信號", "Error": "錯誤", "Escalation": "升級", "Link": "連結", "Participant": "參與者",
    "Process name": "流程名稱", "Process ID": "流程代號", "Called element": "呼叫的流程",
    "Implementation": "實作", "Inputs": "輸入", "Outputs": "輸出", "Data": "資料",
    "<none>": "<無>", "Create new ...": "新增…", "Search in diagram": "在圖中搜尋",
    "Click to open the properties panel": "點選以開啟屬性面板",
    "Select an element to edit its properties.": "選取一個元素以編輯屬性。",
    "Multiple elements are selected. Select a single one to edit its properties.": "已選取多個元素，請只選一個以編輯屬性。",
    "no shape type specified": "未指定圖形類型", "flow elements must be children of pools/participants":
      "流程元素必須位於泳池（參與者）之內", "out of bounds release": "超出範圍", "more than {count} child lanes":
      "子泳道超過 {count} 條", "element required": "需要元素", "diagram not part of bpmn:Definitions":
      "圖不屬於 bpmn:Definitions", "no diagram to display": "沒有可顯示的圖", "no process or collaboration to display":
      "沒有可顯示的流程或協作", "element {element} referenced by {referenced}#{property} not yet drawn":
      "元素 {element}（由 {referenced}#{property} 參照）尚未繪製", "unknown di {di} for element {semantic}":
      "元素 {semantic} 的圖形資訊 {di} 無法辨識", "missing {semantic}#attachedToRef": "缺少 {semantic}#attachedToRef",
    "unsupported bpmnElement for {plane}: {rootElement}": "{plane} 不支援的元素：{rootElement}"
  };

  function translate(template, replacements) {
    var zh = ZH[template];
    var text = zh ? zh + " " + template : template;  // zh-TW first, English second
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return replacements[key] !== undefined ? replacements[key] : "{" + key + "}";
    });
  }

  window.WebirI18n = { translate: translate, dictionary: ZH, module: { translate: ["value", translate] } };
})();
