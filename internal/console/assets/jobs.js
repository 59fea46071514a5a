// Weft console, run page: follows a run that has not ended. It asks
// GET <data-follow>?after=<last line id> every second, appends the new log
// lines and updates the status until the run ends. Without this script
// the page shows the run as it was when loaded, with a reload link.
"use strict";

(function () {
  var run = document.getElementById("run");
  if (!run || run.getAttribute("data-finished") === "true") {
    return;
  }
  var url = run.getAttribute("data-follow");
  var after = run.getAttribute("data-after") || "0";
  var log = document.getElementById("log");
  var delay = 1000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el && value !== undefined) {
      el.textContent = value;
    }
  }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value || "";
    row.appendChild(td);
    return td;
  }

  function append(lines) {
    var empty = document.getElementById("log-empty");
    if (empty && lines.length > 0) {
      empty.remove();
    }
    lines.forEach(function (l) {
      var tr = document.createElement("tr");
      tr.className = "level-" + l.level;
      tr.setAttribute("data-id", l.id);
      cell(tr, l.at);
      cell(tr, l.level);
      cell(tr, l.message);
      var code = document.createElement("code");
      code.textContent = l.fields || "";
      cell(tr, "").appendChild(code);
      log.appendChild(tr);
      after = String(l.id);
    });
  }

  function errors(list) {
    var ul = document.getElementById("run-errors");
    if (!ul || !list || list.length === 0) {
      return;
    }
    ul.textContent = "";
    list.forEach(function (e) {
      var li = document.createElement("li");
      li.className = "status-error";
      li.textContent = e;
      ul.appendChild(li);
    });
  }

  function update(a) {
    var status = document.getElementById("run-status");
    status.textContent = a.status;
    status.className = "status status-" + a.status;
    text("run-performs", String(a.performs));
    text("run-attempts", String(a.attempts));
    text("run-started", a.started_at);
    text("run-duration", a.duration);
    text("run-completed", a.completed_at);
    errors(a.errors);
    append(a.lines || []);
    if (a.finished && !a.more) {
      run.setAttribute("data-finished", "true");
      var form = document.getElementById("terminate");
      if (form) {
        form.remove();
      }
      text("follow-note", "The run has ended.");
      return;
    }
    setTimeout(poll, a.more ? 0 : delay);
  }

  function poll() {
    fetch(url + "?after=" + encodeURIComponent(after), {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (resp) {
        if (!resp.ok || (resp.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
          throw new Error("status " + resp.status);
        }
        return resp.json();
      })
      .then(update)
      .catch(function () {
        // The session may have ended or the server restarted: say so and
        // try again more slowly.
        text("follow-note", "Following this run failed; retrying. Reload the page if it goes on.");
        delay = Math.min(delay * 2, 15000);
        setTimeout(poll, delay);
      });
  }

  setTimeout(poll, delay);
})();
