/* Draws the charts of a page from the JSON that the view put beside each canvas
   (<canvas data-chart="ID"> reads <script type="application/json" id="ID">). The data is
   drawn as given; nothing is computed here. */
(function () {
  "use strict";
  var palette = {
    nrr: "#1f6feb", grr: "#d97706", team_nrr: "#7c3aed", team_grr: "#9a6b3f",
    up: "#2e8540", down: "#c0392b", total: "#5b6475",
  };
  // Money as web/money.py shows it (spec.money names the locale and the reporting currency):
  // compact with one decimal on axes ($87.5M), whole units in tooltips unless cents are not zero.
  function moneyFormats(spec) {
    var m = spec.money || { locale: "en-US", currency: "USD" };
    var base = { style: "currency", currency: m.currency };
    var compact = new Intl.NumberFormat(m.locale, Object.assign({ notation: "compact", maximumFractionDigits: 1 }, base));
    var whole = new Intl.NumberFormat(m.locale, Object.assign({ minimumFractionDigits: 0, maximumFractionDigits: 0 }, base));
    var cents = new Intl.NumberFormat(m.locale, Object.assign({ minimumFractionDigits: 2, maximumFractionDigits: 2 }, base));
    return {
      compact: function (v) { return Math.abs(v) < 1000 ? whole.format(v) : compact.format(v); },
      full: function (v) { return Math.round(v * 100) % 100 === 0 ? whole.format(v) : cents.format(v); },
    };
  }
  window.retentionMoney = moneyFormats;

  function trendConfig(spec) {
    return {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d) {
          // Dashed lines are the team beside an owner: a colour of their own.
          var color = palette[(d.style === "dashed" ? "team_" : "") + d.metric] || palette.total;
          var low = d.low || [];
          var radius = d.style === "thin" ? 1.5 : 2.5;
          return {
            label: d.label,
            data: d.data,
            borderColor: color,
            backgroundColor: color,
            borderWidth: d.style === "thin" ? 1.5 : 2.5,
            borderDash: d.style === "dashed" ? [6, 4] : d.style === "thin" ? [2, 3] : [],
            // Low-confidence points (a cohort under the threshold): hollow and larger.
            pointRadius: low.map(function (l) { return l ? radius + 2 : radius; }),
            pointBackgroundColor: low.map(function (l) { return l ? "#fff" : color; }),
            pointBorderWidth: low.map(function (l) { return l ? 1.5 : 1; }),
            lowConfidence: low,
            logos: d.logos || [],
            spanGaps: false,
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: {
            // The axis spans the confident points only (the view computed it); low ones may fall outside.
            min: spec.axis ? spec.axis.min : undefined,
            max: spec.axis ? spec.axis.max : undefined,
            ticks: { callback: function (v) { return Math.round(v * 10) / 10 + "%"; } },
          },
        },
        plugins: {
          legend: { labels: { usePointStyle: true, pointStyle: "line", boxWidth: 24 } },
          subtitle: {
            display: !!spec.lowConfidence,
            text: "Hollow points: fewer than " + spec.threshold + " customers in the cohort (low confidence), left out of the axis range.",
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var text = ctx.dataset.label + ": " + (ctx.raw === null ? "—" : ctx.raw.toFixed(1) + "%");
                if (ctx.dataset.lowConfidence[ctx.dataIndex]) {
                  text += " (low confidence: " + ctx.dataset.logos[ctx.dataIndex] + " customers)";
                }
                return text;
              },
            },
          },
        },
      },
    };
  }

  // Movements are small beside the totals: start the axis just below the lowest level the bars
  // reach (the totals are then drawn cut, and a subtitle says so) unless that is near zero anyway.
  function bridgeAxisMin(spec) {
    var levels = [];
    spec.bars.forEach(function (bar, i) {
      if (spec.kinds[i] === "total") { levels.push(bar[1]); } else { levels.push(bar[0], bar[1]); }
    });
    var low = Math.min.apply(null, levels), high = Math.max.apply(null, levels);
    var pad = Math.max((high - low) * 0.5, high * 0.02);
    if (low - pad <= high * 0.25) { return 0; }
    var step = Math.pow(10, Math.floor(Math.log10(pad)));
    return Math.floor((low - pad) / step) * step;
  }

  function bridgeConfig(spec) {
    var axisMin = bridgeAxisMin(spec);
    var money = moneyFormats(spec);
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{
          label: "ARR",
          data: spec.bars,
          backgroundColor: spec.kinds.map(function (k) { return palette[k]; }),
        }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: axisMin, grace: "3%", ticks: { callback: function (v) { return money.compact(v); } } } },
        plugins: {
          legend: { display: false },
          subtitle: {
            display: axisMin > 0,
            text: "The axis starts at " + money.compact(axisMin) + ", not at zero: the start and end bars are cut.",
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var sign = spec.kinds[ctx.dataIndex] === "down" ? "-" : spec.kinds[ctx.dataIndex] === "up" ? "+" : "";
                return sign + money.full(spec.amounts[ctx.dataIndex]) + " (click for the accounts)";
              },
            },
          },
        },
        onClick: function (event, elements) {
          if (elements.length) { window.location.href = spec.links[elements[0].index]; }
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
    };
  }

  // A customer's ARR per product at the end of each month (a line per product).
  var productColors = ["#1f6feb", "#2e8540", "#d97706", "#7c3aed", "#c0392b", "#0e7490", "#9a6b3f", "#5b6475"];
  function arrConfig(spec) {
    var money = moneyFormats(spec);
    return {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d, i) {
          var color = productColors[i % productColors.length];
          return { label: d.label, data: d.data, borderColor: color, backgroundColor: color, stepped: true, pointRadius: 1.5, borderWidth: 2 };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return money.compact(v); } } } },
        plugins: {
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + money.full(ctx.raw); } } },
        },
      },
    };
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    var spec = source && JSON.parse(source.textContent);
    if (!spec) { return; }
    var make = { bridge: bridgeConfig, arr: arrConfig }[spec.kind] || trendConfig;
    var chart = new Chart(canvas, make(spec));
    if (spec.kind === "arr") { window.customerArrChart = chart; canvas.dataset.ready = "true"; }
  });

  // Filter forms show the new choice at once; a new granularity starts from its default period.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      if (event.target.name === "granularity" && form.elements.period) { form.elements.period.disabled = true; }
      if (event.target.dataset.resets && form.elements[event.target.dataset.resets]) {
        form.elements[event.target.dataset.resets].disabled = true;
      }
      form.submit();
    });
  });
})();
