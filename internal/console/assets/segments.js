// Segments builder: counts the condition tree as it is typed. The form
// works without this script (its Count button posts it); this only posts
// the same form in the background, a moment after the typing stops, and
// shows the answer in place.
"use strict";

(function () {
  var form = document.getElementById("builder");
  var tree = document.getElementById("tree");
  var out = document.getElementById("preview");
  if (!form || !tree || !out) {
    return;
  }
  var timer = null;
  var seq = 0;
  // The request in flight: a new count aborts it, so that a preview
  // that takes seconds (a big store) is not computed for every pause in
  // the typing.
  var inflight = null;

  function show(answer) {
    out.textContent = "";
    if (answer.error) {
      var p = document.createElement("p");
      p.className = "banner error";
      p.id = "preview-error";
      p.textContent = answer.error;
      out.appendChild(p);
      return;
    }
    var line = document.createElement("p");
    var strong = document.createElement("strong");
    strong.id = "preview-count";
    strong.textContent = answer.count.toLocaleString("en").replace(/,/g, "\u202f");
    line.appendChild(strong);
    line.appendChild(document.createTextNode(" profiles match now."));
    out.appendChild(line);
    if (answer.sample && answer.sample.length) {
      var ul = document.createElement("ul");
      ul.className = "sample";
      answer.sample.forEach(function (id) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/console/profiles/" + encodeURIComponent(id);
        a.textContent = id;
        li.appendChild(a);
        ul.appendChild(li);
      });
      out.appendChild(ul);
    }
  }

  function count() {
    var mine = ++seq;
    if (inflight) {
      inflight.abort();
    }
    inflight = new AbortController();
    out.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      signal: inflight.signal,
      body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (resp) {
      return resp.json();
    }).then(function (answer) {
      if (mine === seq) {
        show(answer);
      }
    }).catch(function (err) {
      if (mine === seq && err.name !== "AbortError") {
        show({ error: "The count could not be fetched: " + err });
      }
    }).finally(function () {
      if (mine === seq) {
        out.removeAttribute("aria-busy");
        inflight = null;
      }
    });
  }

  tree.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(timer);
    count();
  });
})();
