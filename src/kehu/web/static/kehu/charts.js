/* Home page charts: data comes from <script type="application/json"> blocks written by json_script. */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var palette = ["#066fd1", "#2fb344", "#f76707", "#ae3ec9", "#0ca678", "#d63939", "#f59f00", "#4263eb"];
  var font = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

  function money(value) {
    return "¥" + Number(value).toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 0 });
  }

  function init() {
    if (typeof echarts === "undefined") return;
    var labels = readJSON("chart-labels") || {};
    var charts = [];

    var revenue = readJSON("revenue-by-month");
    var revenueNode = document.getElementById("chart-revenue");
    if (revenue && revenueNode) {
      var chart = echarts.init(revenueNode, null, { renderer: "canvas" });
      chart.setOption({
        color: palette,
        textStyle: { fontFamily: font },
        grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", valueFormatter: money },
        xAxis: { type: "category", data: revenue.map(function (r) { return r[0]; }), axisTick: { show: false } },
        yAxis: { type: "value", axisLabel: { formatter: money }, splitLine: { lineStyle: { color: "#eef1f5" } } },
        series: [{
          name: labels.revenue || "Revenue", type: "bar", barMaxWidth: 28,
          itemStyle: { borderRadius: [4, 4, 0, 0] },
          data: revenue.map(function (r) { return Number(r[1]); })
        }]
      });
      charts.push(chart);
    }

    var channels = readJSON("orders-by-channel");
    var channelNode = document.getElementById("chart-channels");
    if (channels && channelNode) {
      var pie = echarts.init(channelNode, null, { renderer: "canvas" });
      pie.setOption({
        color: palette,
        textStyle: { fontFamily: font },
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        legend: { bottom: 0, left: "center", itemWidth: 12, itemHeight: 12, itemGap: 12 },
        series: [{
          name: labels.orders || "Orders", type: "pie", radius: ["40%", "62%"], center: ["50%", "40%"],
          avoidLabelOverlap: true, label: { show: false },
          itemStyle: { borderColor: "#fff", borderWidth: 2 },
          data: channels.map(function (r) { return { name: r[0], value: r[1] }; })
        }]
      });
      charts.push(pie);
    }

    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
