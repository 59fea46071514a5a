// Weft console: small progressive enhancements. Every page works without
// this script; it only adds what a form cannot do alone.
"use strict";

// Forms with data-confirm ask before they post (terminate a run, apply a
// config).
document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
