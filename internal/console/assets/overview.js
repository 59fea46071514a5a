// The overview: while the store's figures are being counted for the
// first time, reload the page every two seconds until they are there.
"use strict";

if (document.querySelector("[data-counting]")) {
  window.setTimeout(function () { window.location.reload(); }, 2000);
}
