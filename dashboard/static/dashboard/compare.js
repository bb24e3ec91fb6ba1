// Niceties for /compare/ on top of charts.js (the page works without either): the calculator
// recomputes while you type, and the offering search lists matches as you type. Both only
// turn typing into the "change" events charts.js already answers (update the URL, fetch the
// page for the new state, swap the results in).
(function () {
  "use strict";
  var WAIT_MS = 400;
  var timers = {};

  function settle(el) {
    if (el.type === "number" && !el.checkValidity()) return; // the browser says what is wrong
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el.hasAttribute || !el.hasAttribute("data-live") || !el.name) return;
    window.clearTimeout(timers[el.name]);
    timers[el.name] = window.setTimeout(function () { settle(el); }, WAIT_MS);
  });
  // A change that the browser fires itself (blur, Enter) makes a pending timer moot.
  document.addEventListener("change", function (event) {
    if (event.isTrusted && event.target.name) window.clearTimeout(timers[event.target.name]);
  }, true);
})();
