/* Human-readable previews of BPMN timer expressions (timeDate, timeDuration, timeCycle), as SpiffWorkflow
   reads them: the expression is Python, usually a quoted ISO 8601 string such as "P5D". */
(function () {
  "use strict";

  var DURATION = /^P(?!$)(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
  var UNITS = [
    ["years", "年", "year"], ["months", "個月", "month"], ["weeks", "週", "week"], ["days", "天", "day"],
    ["hours", "小時", "hour"], ["minutes", "分鐘", "minute"], ["seconds", "秒", "second"]
  ];
  var WEEKDAYS = [["日", "Sunday"], ["一", "Monday"], ["二", "Tuesday"], ["三", "Wednesday"],
    ["四", "Thursday"], ["五", "Friday"], ["六", "Saturday"]];

  function literal(expression) {
    var text = (expression || "").trim();
    var match = /^(["'])(.*)\1$/.exec(text);
    return match ? match[2] : null;
  }

  function parseDuration(text) {
    var m = DURATION.exec((text || "").trim());
    if (!m) { return null; }
    var parts = {};
    UNITS.forEach(function (unit, i) {
      if (m[i + 1] !== undefined) { parts[unit[0]] = parseFloat(m[i + 1]); }
    });
    return parts;
  }

  function describeDuration(parts) {
    var zh = [], en = [];
    UNITS.forEach(function (unit) {
      var n = parts[unit[0]];
      if (n) {
        zh.push(n + " " + unit[1]);
        en.push(n + " " + unit[2] + (n === 1 ? "" : "s"));
      }
    });
    return { zh: zh.join(" ") || "0", en: en.join(" ") || "0" };
  }

  function parseDate(text) {
    var value = (text || "").trim();
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value)) { return null; }
    var date = new Date(value);
    if (isNaN(date.getTime())) { return null; }
    return { date: date, aware: /(Z|[+-]\d{2}:?\d{2})$/.test(value) };
  }

  function local(date, tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      weekday: "short", hourCycle: "h23"
    }).formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
    return {
      text: parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute,
      year: parseInt(parts.year, 10),
      day: parseInt(parts.day, 10), month: parseInt(parts.month, 10), time: parts.hour + ":" + parts.minute,
      weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(parts.weekday)
    };
  }

  function fixedDays(parts, when) {
    /* SpiffWorkflow turns months and years into days once, counted from the start month (as written),
       then repeats that fixed length. */
    var months = (parts.months || 0) + 12 * (parts.years || 0), days = (parts.days || 0) + 7 * (parts.weeks || 0);
    for (var i = 0; i < months; i++) {
      days += new Date(Date.UTC(when.year, when.month - 1 + i + 1, 0)).getUTCDate();
    }
    return days;
  }

  function ok(zh, en, warning) { return { ok: true, zh: zh, en: en, warning: warning || "" }; }
  function bad(zh, en) { return { ok: false, zh: zh, en: en, warning: "" }; }

  function describeEvery(parts, start, tz) {
    var when = local(start, tz), only = Object.keys(parts);
    var single = only.length === 1 && parts[only[0]] === 1 ? only[0] : null;
    if (single === "months" && when.day === 1) {
      return ok("每月一日 " + when.time, "every first of the month at " + when.time + ", " + tz);
    }
    if (single === "days") { return ok("每天 " + when.time, "every day at " + when.time + ", " + tz); }
    if (single === "weeks" || (only.length === 1 && parts.days === 7)) {
      var wd = WEEKDAYS[when.weekday];
      return ok("每週" + wd[0] + " " + when.time, "every " + wd[1] + " at " + when.time + ", " + tz);
    }
    if (single === "years") {
      return ok("每年 " + when.month + " 月 " + when.day + " 日", "every year on " + when.text.slice(5, 10) + ", " + tz);
    }
    var d = describeDuration(parts);
    return ok("每 " + d.zh, "every " + d.en);
  }

  function describeCycle(value, tz) {
    var pieces = value.toUpperCase().replace("--", "/").split("/");
    var reps = /^R(\d*)$/.exec(pieces[0] || "");
    if (!reps || pieces.length < 2 || pieces.length > 3) { return bad("週期格式錯誤", "not an ISO 8601 cycle (R/start/duration)"); }
    var start = null, parts = null;
    pieces.slice(1).forEach(function (p) {
      var asDate = parseDate(p);
      if (asDate) { start = start || asDate.date; } else { parts = parts || parseDuration(p); }
    });
    if (!parts) { return bad("週期缺少間隔", "the cycle has no valid duration"); }
    start = start || new Date();
    var base = describeEvery(parts, start, tz);
    var count = reps[1] ? reps[1] + " 次 " : "不限次數 ";
    var countEn = reps[1] ? ", " + reps[1] + " times" : ", without end";
    var warning = "";
    if (parts.months || parts.years) {
      var days = fixedDays(parts, local(start, tz));
      warning = "注意：SpiffWorkflow 以固定 " + days + " 天重複，不依月曆；月曆週期請用義務週期 " +
        "Note: SpiffWorkflow repeats a fixed " + days + " days, not calendar months; use obligations for calendar cadences";
    }
    return ok(base.zh + "，" + count + "（自 " + local(start, tz).text + " 起）",
      base.en + countEn + " (from " + local(start, tz).text + ")", warning);
  }

  function describeValue(kind, value, tz) {
    if (kind === "timeDuration") {
      var parts = parseDuration(value);
      if (!parts) { return bad("不是 ISO 8601 期間，例如 \"P5D\"", "not an ISO 8601 duration, e.g. \"P5D\""); }
      var d = describeDuration(parts);
      return ok("等待 " + d.zh + " 後觸發", "fires " + d.en + " after it starts waiting");
    }
    if (kind === "timeDate") {
      var at = parseDate(value);
      if (!at) { return bad("不是 ISO 8601 日期時間", "not an ISO 8601 date-time"); }
      var warn = at.aware ? "" : "沒有時區：會以伺服器時間解讀，請加上 +08:00 No time zone: add +08:00";
      return ok("於 " + local(at.date, tz).text + " 觸發", "fires at " + local(at.date, tz).text + ", " + tz, warn);
    }
    if (kind === "timeCycle") { return describeCycle(value, tz); }
    return bad("未知的計時器種類", "unknown timer kind");
  }

  function describe(kind, expression, tz) {
    tz = tz || "Asia/Taipei";
    if (!(expression || "").trim()) { return bad("請輸入計時器運算式", "enter a timer expression"); }
    var value = literal(expression);
    if (value === null) {
      return ok("執行時由流程資料計算", "computed from the task data when it runs: " + expression.trim());
    }
    return describeValue(kind, value, tz);
  }

  window.WebirTimer = { describe: describe, parseDuration: parseDuration };
})();
