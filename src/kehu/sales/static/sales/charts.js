/* Grid-entry charts: the month's entered sales by store and by category, and entered sales
   against targets by month. Data comes from the page's json_script block; after a save the page
   is fetched again and the summary cards and charts are redrawn from it. */
(function () {
  "use strict";

  var palette = ["#066fd1", "#2fb344", "#f76707", "#ae3ec9", "#0ca678", "#d63939", "#f59f00", "#4263eb"];
  var font = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  var charts = {};
  var refreshes = 0;

  function money(value) {
    return "¥" + Number(value).toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  function chartAt(id) {
    var node = document.getElementById(id);
    if (!node) return null;
    if (!charts[id]) charts[id] = echarts.init(node, null, { renderer: "canvas" });
    return charts[id];
  }

  function empty(chart, text) {
    chart.setOption({
      title: { text: text, left: "center", top: "middle", textStyle: { color: "#667382", fontSize: 14, fontWeight: 400, fontFamily: font } },
      series: []
    }, true);
  }

  function hasFigures(values) {
    return values.some(function (v) { return Number(v) !== 0; });
  }

  function draw(data) {
    if (!data || typeof echarts === "undefined") return;
    var labels = data.labels || {};
    var byStore = chartAt("chart-by-store");
    if (byStore && data.byStore) {
      var stores = data.byStore.slice().reverse();
      if (!stores.length) empty(byStore, labels.empty);
      else byStore.setOption({
        color: ["#066fd1", "#f76707"], textStyle: { fontFamily: font },
        legend: { top: 0, left: "center", itemWidth: 12, itemHeight: 12 },
        grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: money },
        xAxis: { type: "value", axisLabel: { formatter: money }, splitLine: { lineStyle: { color: "#eef1f5" } } },
        yAxis: { type: "category", data: stores.map(function (r) { return r[0]; }), axisTick: { show: false } },
        series: [
          { name: labels.sales, type: "bar", barMaxWidth: 14, itemStyle: { borderRadius: [0, 3, 3, 0] },
            data: stores.map(function (r) { return Number(r[1]); }) },
          // The store's share of the targets as a tick across its bar (a bullet chart).
          { name: labels.target, type: "scatter", symbol: "rect", symbolSize: [3, 18], z: 3,
            data: stores.map(function (r) { return Number(r[2]) || null; }) }
        ]
      }, true);
    }
    var byCategory = chartAt("chart-by-category");
    if (byCategory && data.byCategory) {
      if (!data.byCategory.length) empty(byCategory, labels.empty);
      else byCategory.setOption({
        color: palette, textStyle: { fontFamily: font },
        tooltip: { trigger: "item", valueFormatter: money },
        legend: { bottom: 0, left: "center", itemWidth: 12, itemHeight: 12 },
        series: [{ name: labels.sales, type: "pie", radius: ["40%", "64%"], center: ["50%", "44%"],
          label: { show: false }, itemStyle: { borderColor: "#fff", borderWidth: 2 },
          data: data.byCategory.map(function (r) { return { name: r[0], value: Number(r[1]) }; }) }]
      }, true);
    }
    var vs = chartAt("chart-vs-targets");
    if (vs && data.months) {
      if (!hasFigures(data.sales.concat(data.targets))) empty(vs, labels.empty);
      else vs.setOption({
        color: ["#066fd1", "#f76707"], textStyle: { fontFamily: font },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        legend: { top: 0, left: "center" },
        tooltip: { trigger: "axis", valueFormatter: money },
        xAxis: { type: "category", data: data.months, axisTick: { show: false } },
        yAxis: { type: "value", axisLabel: { formatter: money }, splitLine: { lineStyle: { color: "#eef1f5" } } },
        series: [
          { name: labels.sales, type: "bar", barMaxWidth: 28, itemStyle: { borderRadius: [4, 4, 0, 0] },
            data: data.sales.map(Number) },
          { name: labels.target, type: "line", symbolSize: 7, data: data.targets.map(Number) }
        ]
      }, true);
    }
  }

  function readData(doc) {
    var node = doc.getElementById("chart-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function reload() {
    fetch(window.location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var summary = doc.getElementById("grid-summary");
      var here = document.getElementById("grid-summary");
      if (summary && here) here.innerHTML = summary.innerHTML;
      draw(readData(doc));
      document.documentElement.dataset.chartsRefreshed = String(++refreshes);
    });
  }

  function init() {
    draw(readData(document));
    document.addEventListener("kehu:grid-saved", reload);
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
