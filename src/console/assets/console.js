// Rapport console: the only script of our own. Draws uPlot charts from the JSON data block named by
// data-chart (the table beside each chart carries the same numbers without scripts).
"use strict";
(function () {
  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart"));
    if (!src || typeof uPlot === "undefined") return;
    var d = JSON.parse(src.textContent);
    var xs = d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    el.textContent = "";
    var opts = {
      width: Math.max(280, el.clientWidth), height: 240,
      scales: { x: { time: true } },
      series: [{}, { label: d.label, stroke: "#2c4bb8", width: 2, fill: "rgba(44,75,184,0.12)" }],
      axes: [{ stroke: "#1d2330" }, { stroke: "#1d2330" }],
    };
    var plot = new uPlot(opts, [xs, d.values], el);
    window.addEventListener("resize", function () { plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 }); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
