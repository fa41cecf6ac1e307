// Rapport console: the only script of our own. Draws uPlot charts from the JSON data block named by
// data-chart (the table beside each chart carries the same numbers without scripts).
"use strict";
(function () {
  function draw(el) {
    var src = document.getElementById(el.getAttribute("data-chart"));
    if (!src || typeof uPlot === "undefined") return;
    var d = JSON.parse(src.textContent);
    // Two shapes: one series per UTC day ({days, values}), or several over epoch seconds ({xs, series}).
    var colours = ["#2c4bb8", "#1a7f37", "#b35900"];
    var xs = d.kind === "series" ? d.xs : d.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    var ys = d.kind === "series" ? d.series.map(function (s) { return s.values; }) : [d.values];
    var labels = d.kind === "series" ? d.series.map(function (s) { return s.label; }) : [d.label];
    if (xs.length === 0) return;
    el.textContent = "";
    var opts = {
      width: Math.max(280, el.clientWidth), height: 240,
      scales: { x: { time: true } },
      series: [{}].concat(labels.map(function (label, i) { return { label: label, stroke: colours[i % colours.length], width: 2, fill: labels.length === 1 ? "rgba(44,75,184,0.12)" : undefined }; })),
      axes: [{ stroke: "#1d2330" }, { stroke: "#1d2330" }],
    };
    var plot = new uPlot(opts, [xs].concat(ys), el);
    window.addEventListener("resize", function () { plot.setSize({ width: Math.max(280, el.clientWidth), height: 240 }); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
