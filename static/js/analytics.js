// Callback analytics: three charts (uPlot, vendored) drawn from #analytics-data, the same figures as the tables
// under them. Bars are counts; the line is the on-time rate (%), on its own axis on the right.
(function () {
  "use strict";
  var BAR = "#1f5f8b", LINE = "#2f8a4e";
  var charts = [];

  function data() {
    var el = document.getElementById("analytics-data");
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }
  function width(box) { return Math.max(280, box.clientWidth - 8); }

  function categories(box, labels, bars, barLabel, rate, rateLabel) {
    if (!box || !window.uPlot) return;
    var xs = labels.map(function (_, i) { return i; });
    var room = Math.max(1, Math.floor(width(box) / 48));  // labels under the bars that fit side by side
    var every = Math.max(1, Math.ceil(labels.length / room));
    var series = [{}, { label: barLabel, fill: BAR, stroke: BAR, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }];
    var rows = [xs, bars];
    var scales = { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: function (u, min, max) { return [0, Math.max(4, max + 1)]; } } };
    var axes = [
      { splits: function () { return xs.filter(function (i) { return i % every === 0; }); }, values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); }, grid: { show: false } },
      { size: 44 },
    ];
    if (rate) {
      series.push({ label: rateLabel, stroke: LINE, width: 2, scale: "%", spanGaps: false, points: { show: true, size: 5, fill: LINE } });
      rows.push(rate);
      scales["%"] = { range: [0, 100] };
      axes.push({ scale: "%", side: 1, size: 56, grid: { show: false }, values: function (u, splits) { return splits.map(function (v) { return v + " %"; }); } });
    }
    box.innerHTML = "";
    charts.push(new uPlot({ width: width(box), height: 220, series: series, scales: scales, axes: axes, legend: { live: false } }, rows, box));
  }

  function draw() {
    var d = data();
    if (!d) return;
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var w = d.words || {};
    categories(document.getElementById("chart-hours"), d.hours, d.hour_requested, w.requested, d.hour_on_time, w.on_time);
    categories(document.getElementById("chart-days"), d.days, d.day_requested, w.requested, d.day_on_time, w.on_time);
    categories(document.getElementById("chart-lateness"), d.lateness, d.lateness_counts, w.dials, null, null);
  }

  var resized = null;
  window.addEventListener("load", draw);
  window.addEventListener("resize", function () { clearTimeout(resized); resized = setTimeout(draw, 150); });
})();
