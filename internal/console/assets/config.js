// Weft console, config editor: line numbers that follow the text, the
// problems' links put the caret on their line, Apply asks first. Without
// this script the page still validates and applies; the gutter numbers
// the lines as sent.
"use strict";

(function () {
  var doc = document.getElementById("config-doc");
  var gutter = document.querySelector(".config-gutter");
  if (!doc || !gutter) {
    return;
  }
  // The lines with an error as the server found them.
  var bad = {};
  gutter.querySelectorAll("span.bad").forEach(function (s) {
    bad[s.textContent] = true;
  });

  function renumber() {
    var n = doc.value.split("\n").length;
    if (gutter.children.length === n) {
      return;
    }
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= n; i++) {
      var s = document.createElement("span");
      s.id = "config-line-" + i;
      s.textContent = String(i);
      if (bad[i]) {
        s.className = "bad";
      }
      frag.appendChild(s);
      frag.appendChild(document.createTextNode("\n"));
    }
    gutter.replaceChildren(frag);
  }

  function lineHeight() {
    return parseFloat(window.getComputedStyle(doc).lineHeight) || 18;
  }

  // showLine scrolls the editor to a line; with focus, selects it.
  function showLine(line, focus) {
    var lines = doc.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) {
      start += lines[i].length + 1;
    }
    if (focus) {
      doc.focus();
      doc.setSelectionRange(start, start + (lines[line - 1] || "").length);
    }
    doc.scrollTop = Math.max(0, (line - 4) * lineHeight());
    gutter.scrollTop = doc.scrollTop;
  }

  doc.addEventListener("input", renumber);
  doc.addEventListener("scroll", function () {
    gutter.scrollTop = doc.scrollTop;
  });
  document.querySelectorAll(".config-problems a[data-line]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      showLine(Number(a.getAttribute("data-line")), true);
    });
  });
  doc.form.addEventListener("submit", function (e) {
    if (e.submitter && e.submitter.id === "config-apply" && !window.confirm("Apply this config? It goes in force at once.")) {
      e.preventDefault();
    }
  });
  renumber();
  var first = document.querySelector("#config-errors a[data-line]");
  if (first) {
    showLine(Number(first.getAttribute("data-line")), false);
  }
})();
