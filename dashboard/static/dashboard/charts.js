// Draws every figure embedded by the templates: <div id="X"> + <script id="X-data">.
document.querySelectorAll("[role=img][id]").forEach(function (el) {
  var data = document.getElementById(el.id + "-data");
  if (!data || !window.Plotly) return;
  var fig = JSON.parse(data.textContent);
  window.Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
});
