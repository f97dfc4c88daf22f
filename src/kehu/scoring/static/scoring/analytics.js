/* Analytics page charts; data comes from the json_script block "analytics-charts" (CSP: no inline scripts). */
(function () {
  "use strict";
  var font = 'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  var tierColours = { gold: "#f59f00", silver: "#868e96", bronze: "#b0672b" };
  var palette = ["#066fd1", "#2fb344", "#0ca678", "#4263eb", "#f76707", "#d63939"];

  function init() {
    if (typeof echarts === "undefined") return;
    var node = document.getElementById("analytics-charts");
    if (!node) return;
    var data = JSON.parse(node.textContent);
    var labels = data.labels || {};
    var charts = [];

    function chart(id, option) {
      var el = document.getElementById(id);
      if (!el) return;
      var c = echarts.init(el, null, { renderer: "canvas" });
      option.textStyle = { fontFamily: font };
      c.setOption(option);
      charts.push(c);
    }

    chart("chart-tiers", {
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      series: [{
        type: "pie", radius: ["45%", "75%"], label: { show: false },
        itemStyle: { borderColor: "#fff", borderWidth: 2 },
        data: data.tiers.map(function (t) {
          return { name: (labels.tiers || {})[t[0]] || t[0], value: t[1], itemStyle: { color: tierColours[t[0]] } };
        })
      }]
    });

    chart("chart-stages", {
      color: palette,
      tooltip: { trigger: "item", formatter: "{b}: {c}" },
      series: [{
        type: "funnel", sort: "none", left: "5%", width: "90%", minSize: "18%", gap: 2,
        label: { show: true, position: "inside", formatter: "{b}  {c}" },
        data: data.stages.map(function (s) { return { name: (labels.stages || {})[s[0]] || s[0], value: s[1] }; })
      }]
    });

    chart("chart-clv", {
      color: ["#066fd1"],
      grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.clv.map(function (b) { return b[0]; }), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", name: labels.customers || "" },
      series: [{ type: "bar", barMaxWidth: 32, itemStyle: { borderRadius: [4, 4, 0, 0] }, data: data.clv.map(function (b) { return b[1]; }) }]
    });

    var cohorts = data.cohorts || {};
    if (cohorts.cohorts && cohorts.cohorts.length) {
      var cells = [];
      cohorts.values.forEach(function (row, y) {
        row.forEach(function (v, x) { if (v !== null) cells.push([x, y, Math.round(v * 1000) / 10]); });
      });
      chart("chart-cohorts", {
        tooltip: { formatter: function (p) { return cohorts.cohorts[p.value[1]] + " +" + p.value[0] + ": " + p.value[2] + "%"; } },
        grid: { left: 8, right: 8, top: 8, bottom: 48, containLabel: true },
        xAxis: { type: "category", name: labels.months_since || "", nameLocation: "middle", nameGap: 28, data: cohorts.months },
        yAxis: { type: "category", data: cohorts.cohorts, inverse: true },
        visualMap: { min: 0, max: 100, show: false, inRange: { color: ["#f1f5fb", "#066fd1"] } },
        series: [{ type: "heatmap", data: cells, label: { show: true, fontSize: 10, formatter: function (p) { return p.value[2]; } } }]
      });
    }

    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
