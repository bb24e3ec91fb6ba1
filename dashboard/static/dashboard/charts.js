// Draws every chart on the page and keeps the URL in step with its controls.
//
// Markup (templates/dashboard/_chart.html): <div class="plot" id="X" role="img"> with its figure
// in <script type="application/json" id="X-data">. Forms marked data-state-form are plain GET
// forms (they work with JavaScript off); here a change updates the URL with
// history.replaceState, so every state is a permalink. Controls marked data-toggle (scale,
// events) are applied in place; any other change fetches the page for the new state and swaps
// the [data-swap] region.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["toImage", "select2d", "lasso2d"] };
  var EVENT = "event";
  var sequence = 0;

  function figureOf(el) {
    var data = document.getElementById(el.id + "-data");
    return data ? JSON.parse(data.textContent) : null;
  }

  function draw(root) {
    root.querySelectorAll(".plot[role=img][id]").forEach(function (el) {
      var fig = figureOf(el);
      if (!fig || !window.Plotly) return;
      window.Plotly.newPlot(el, fig.data, fig.layout, CONFIG);
      var table = document.querySelector('[data-table-for="' + el.id + '"]');
      if (table) table.open = false;
    });
    // Older templates: a bare <div role=img id=X> with X-data beside it.
    root.querySelectorAll("[role=img][id]:not(.plot)").forEach(function (el) {
      var fig = figureOf(el);
      if (fig && window.Plotly) window.Plotly.newPlot(el, fig.data, fig.layout, CONFIG);
    });
  }

  function params() {
    return new URLSearchParams(window.location.search);
  }

  function epochDay(days) {
    return new Date(Number(days) * 86400000).toISOString().slice(0, 10);
  }

  function controlValue(el) {
    if (el.hasAttribute("data-epoch-days")) return epochDay(el.value);
    if (el.type === "checkbox") return el.checked ? el.value : (el.dataset.off || "");
    return el.value;
  }

  function setState(name, value) {
    var p = params();
    p.set(name, value);
    p.delete("format");
    window.history.replaceState(null, "", window.location.pathname + "?" + p.toString());
    // Keep the hidden copies (used with JS off) and twin controls on other charts in step.
    document.querySelectorAll('input[type=hidden][name="' + name + '"]:not([data-unchecked])').forEach(function (el) {
      el.value = value;
    });
    refreshLinks();
  }

  function refreshLinks() {
    var p = params();
    p.delete("format");
    p.delete("chart");
    document.querySelectorAll("[data-state-link]").forEach(function (a) {
      var q = new URLSearchParams(p.toString());
      new URLSearchParams(a.dataset.stateLink).forEach(function (v, k) { q.set(k, v); });
      a.setAttribute("href", "?" + q.toString());
    });
    document.querySelectorAll("[data-embed-for]").forEach(function (area) {
      var q = new URLSearchParams(p.toString());
      q.set("chart", area.dataset.embedFor);
      var path = window.location.pathname.replace(/^\/embed\//, "/");
      var src = window.location.origin + "/embed" + path + "?" + q.toString();
      area.value = area.value.replace(/src="[^"]*"/, 'src="' + src.replace(/&/g, "&amp;") + '"');
    });
  }

  function applyToggle(name, value) {
    document.querySelectorAll('[data-toggle="' + name + '"]').forEach(function (el) {
      if (el.type === "checkbox") el.checked = value === el.value; else el.value = value;
    });
    document.querySelectorAll(".plot[role=img][id]").forEach(function (el) {
      if (!el.layout) return;
      var update = {};
      if (name === "scale") {
        ((el.layout.meta || {}).scale_axes || []).forEach(function (axis) { update[axis + ".type"] = value; });
      } else if (name === "events") {
        ["shapes", "annotations"].forEach(function (kind) {
          (el.layout[kind] || []).forEach(function (item, i) {
            if (item.name === EVENT) update[kind + "[" + i + "].visible"] = value === "1";
          });
        });
      }
      if (Object.keys(update).length) window.Plotly.relayout(el, update);
    });
  }

  function refetch() {
    var mine = ++sequence;
    var status = document.getElementById("chart-status");
    if (status) status.textContent = "Updating…";
    window.fetch(window.location.href, { headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (result) {
        if (mine !== sequence) return;
        if (!result.ok) {
          if (status) status.textContent = result.text;
          return;
        }
        var fresh = new DOMParser().parseFromString(result.text, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        document.querySelectorAll("[data-swap]").forEach(function (region) {
          var next = fresh.querySelector('[data-swap="' + region.dataset.swap + '"]');
          if (!next) return;
          region.querySelectorAll(".plot[role=img][id]").forEach(function (el) { window.Plotly.purge(el); });
          region.innerHTML = next.innerHTML;
          draw(region);
        });
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        status = document.getElementById("chart-status");
        if (status) status.textContent = "";
        refreshLinks();
      })
      .catch(function (error) {
        if (mine === sequence && status) status.textContent = "Could not update: " + error;
      });
  }

  function onChange(event) {
    var el = event.target;
    if (!el.name || !el.form || !el.form.hasAttribute("data-state-form")) return;
    var value = controlValue(el);
    setState(el.name, value);
    if (el.dataset.toggle) applyToggle(el.dataset.toggle, value);
    else refetch();
  }

  function showRangeValue(event) {
    var el = event.target;
    if (!el.hasAttribute || !el.hasAttribute("data-epoch-days")) return;
    var out = document.querySelector('output[for="' + el.id + '"]');
    var day = epochDay(el.value);
    if (out) out.textContent = day;
    el.setAttribute("aria-valuetext", day);
  }

  function download(event) {
    var button = event.target.closest("[data-download]");
    if (!button) return;
    var el = document.getElementById(button.dataset.for);
    if (!el || !window.Plotly) return;
    var page = window.location.pathname.replace(/^\/(embed\/)?/, "").replace(/\/$/, "").replace(/\//g, "-");
    window.Plotly.downloadImage(el, {
      format: button.dataset.download,
      filename: (page || "home") + "-" + el.id,
      width: 1200,
      height: Math.max(500, el.clientHeight),
    });
  }

  document.addEventListener("change", onChange);
  document.addEventListener("input", showRangeValue);
  document.addEventListener("click", download);
  // With JS on, forms do not submit: every change is applied at once.
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute("data-state-form")) event.preventDefault();
  });
  draw(document);
})();
