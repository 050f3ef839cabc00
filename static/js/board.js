// Ringback live board: elapsed-time tickers and two charts (uPlot, vendored) drawn from the data the server
// puts in #board-data with every update of the figures.
(function () {
  var COLORS = ["#1f5f8b", "#2f8a4e", "#9a5b00", "#5b4a9a", "#b42318", "#0e7490", "#7b8794"];
  var charts = {};

  function mmss(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m;
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = mmss(now - Number(el.dataset.since));
    });
  }

  function data() {
    var el = document.getElementById("board-data");
    try { return el ? JSON.parse(el.textContent) : null; } catch (e) { return null; }
  }
  function width(box) { return Math.max(280, box.clientWidth - 8); }
  // The charts' own words come with the data, in the page's language.
  function word(d, key, english) { return (d.words && d.words[key]) || english; }

  // Times on the axis as the page's language writes them (14:00, 2 PM), in the contact centre's zone.
  function hour(ts) {
    var d = data() || {};
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: "numeric", minute: "2-digit", timeZone: d.zone || undefined }).format(new Date(ts * 1e3));
    } catch (e) { return new Date(ts * 1e3).toLocaleTimeString(); }
  }

  function drawWaiting(d) {
    var box = document.getElementById("chart-waiting");
    if (!box || !window.uPlot) return;
    var series = [{ label: word(d, "time", "Time") }].concat(d.waiting.map(function (s, i) {
      return { label: s.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } };
    }));
    var rows = [d.times].concat(d.waiting.map(function (s) { return s.values; }));
    if (charts.waiting && charts.waiting.series.length === series.length) { charts.waiting.setData(rows); return; }
    if (charts.waiting) charts.waiting.destroy();
    charts.waiting = new uPlot({
      width: width(box), height: 220, series: series,
      // Hours of the contact centre's day, whatever the browser's zone.
      tzDate: function (ts) { return d.zone ? uPlot.tzDate(new Date(ts * 1e3), d.zone) : new Date(ts * 1e3); },
      scales: { y: { range: function (u, min, max) { return [0, Math.max(4, max + 1)]; } } },
      axes: [{ values: function (u, splits) { return splits.map(hour); } }, { label: word(d, "callbacks", "callbacks"), size: 50 }],
    }, rows, box);
  }

  function drawDispositions(d) {
    var box = document.getElementById("chart-dispositions");
    if (!box || !window.uPlot) return;
    var labels = d.dispositions.map(function (x) { return x.label; });
    var counts = d.dispositions.map(function (x) { return x.count; });
    var key = labels.join("|");
    box.setAttribute("aria-label", d.dispositions.map(function (x) { return x.label + ": " + x.count; }).join(", ") || word(d, "nothing", "Nothing handled yet today"));
    if (!labels.length) {
      if (charts.dispo) { charts.dispo.destroy(); charts.dispo = null; }
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = word(d, "nothing", "Nothing handled yet today") + ".";
      box.replaceChildren(empty);
      return;
    }
    var xs = labels.map(function (_, i) { return i; });
    if (charts.dispo && charts.dispoKey === key) { charts.dispo.setData([xs, counts]); return; }
    if (charts.dispo) charts.dispo.destroy();
    box.innerHTML = "";
    charts.dispoKey = key;
    charts.dispo = new uPlot({
      width: width(box), height: 220,
      scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: function (u, min, max) { return [0, Math.max(4, max + 1)]; } } },
      series: [{}, { label: word(d, "handled", "Handled"), fill: "#1f5f8b", stroke: "#1f5f8b", paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
      axes: [
        { splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); }, grid: { show: false } },
        { size: 40 },
      ],
      legend: { show: false },
    }, [xs, counts], box);
  }

  function draw() {
    var d = data();
    if (!d) return;
    drawWaiting(d);
    drawDispositions(d);
    tick();
  }

  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", draw);
  document.addEventListener("htmx:wsAfterMessage", draw);
  document.addEventListener("htmx:afterSettle", draw);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { if (charts[k] && charts[k].destroy) { charts[k].destroy(); } });
    charts = {};
    draw();
  });
})();
