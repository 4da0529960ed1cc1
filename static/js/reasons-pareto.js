// Pareto of churn reasons: bars of lost ARR (or case count) with the cumulative share as a line
// on a second axis in percent. Clicking a bar opens the cases behind it.
(function () {
  "use strict";
  var canvas = document.getElementById("pareto-chart");
  var source = document.getElementById("pareto-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  // Money as web/money.py shows it: compact on the axis ($87.5M), whole units in tooltips.
  var m = data.money || { locale: "en-US", currency: "USD" };
  var base = { style: "currency", currency: m.currency };
  var compactMoney = new Intl.NumberFormat(m.locale, Object.assign({ notation: "compact", maximumFractionDigits: 1 }, base));
  var wholeMoney = new Intl.NumberFormat(m.locale, Object.assign({ minimumFractionDigits: 0, maximumFractionDigits: 0 }, base));
  var centsMoney = new Intl.NumberFormat(m.locale, Object.assign({ minimumFractionDigits: 2, maximumFractionDigits: 2 }, base));
  function money(v, onAxis) {
    if (onAxis && Math.abs(v) >= 1000) return compactMoney.format(v);
    return Math.round(v * 100) % 100 === 0 ? wholeMoney.format(v) : centsMoney.format(v);
  }

  var chart = new Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        {
          type: "bar",
          label: data.measure,
          data: data.values.map(Number),
          backgroundColor: "#3b6fb6",
          yAxisID: "y",
          order: 2,
        },
        {
          type: "line",
          label: "Cumulative share (%)",
          data: data.cumulative.map(function (v) { return v === null ? null : Number(v); }),
          borderColor: "#d9822b",
          backgroundColor: "#d9822b",
          yAxisID: "y1",
          tension: 0,
          order: 1,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: {
          beginAtZero: true,
          position: "left",
          title: { display: true, text: data.measure },
          ticks: data.byCount ? { precision: 0 } : { callback: function (v) { return money(v, true); } },
        },
        y1: {
          beginAtZero: true,
          min: 0,
          max: 100,
          position: "right",
          grid: { drawOnChartArea: false },
          title: { display: true, text: "Cumulative share" },
          ticks: { callback: function (v) { return v + "%"; } },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (ctx) {
              if (ctx.dataset.yAxisID === "y1") return ctx.dataset.label + ": " + number.format(ctx.parsed.y) + "%";
              return ctx.dataset.label + ": " + (data.byCount ? number.format(ctx.parsed.y) : money(ctx.parsed.y, false));
            },
          },
        },
      },
      onClick: function (event, elements) {
        if (elements.length) window.location.href = data.links[elements[0].index];
      },
    },
  });
  canvas.dataset.ready = "true";
  window.reasonsParetoChart = chart;
})();
