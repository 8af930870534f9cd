/* History page: draws the chart from the rows embedded in the page, and shows only the date field
   that the chosen period uses. */
"use strict";

(function () {
  const form = document.getElementById("history-form");
  if (form) {
    const period = form.elements.namedItem("period");
    const sync = () => {
      for (const label of form.querySelectorAll("[data-period]")) label.hidden = label.dataset.period !== period.value;
    };
    period.addEventListener("change", sync);
    sync();
  }
  const chart = document.getElementById("chart");
  const data = document.getElementById("chart-data");
  if (chart && data) {
    window.SolarChart.attach(chart, JSON.parse(data.textContent), { legend: document.getElementById("legend") });
  }
})();
