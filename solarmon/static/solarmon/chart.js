/* SolarChart: small SVG bar and line charts with axes, labels and a legend.

   SolarChart.attach(container, data, {legend: ulElement}) draws
     data = {labels: ["00:00", ...],
             series: [{key, name, color, unit, kind: "bar" | "line", values: [number | null, ...]}]}
   Bars of the same label are grouped side by side on the left axis. Lines in the bars' unit share
   that axis; lines in another unit (SOC in %) get a right-hand axis. The chart is redrawn to the
   container's width when the window is resized. Null values draw nothing. */
"use strict";

window.SolarChart = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const HEIGHT = 280;
  const CHAR_W = 6.5; // average width of an 11px label character, for spacing the x labels

  function svg(tag, attrs, children) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    for (const child of children || []) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /* A round step (1, 2, 2.5 or 5 × 10^n) that splits ``range`` into about ``count`` parts. */
  function niceStep(range, count) {
    const raw = range / count;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / magnitude;
    const factor = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
    return factor * magnitude;
  }

  /* Axis bounds that include zero and the data, on round ticks. */
  function niceScale(values, fixed) {
    if (fixed) return ticksOf(fixed[0], fixed[1], (fixed[1] - fixed[0]) / 4);
    const known = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
    let low = Math.min(0, ...known);
    let high = Math.max(0, ...known);
    if (high - low < 1e-9) high = low + 1;
    const step = niceStep(high - low, 5);
    low = Math.floor(low / step + 1e-9) * step;
    high = Math.ceil(high / step - 1e-9) * step;
    return ticksOf(low, high, step);
  }

  function ticksOf(low, high, step) {
    const ticks = [];
    for (let v = low; v <= high + step / 1000; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
    return { min: low, max: high, step, ticks };
  }

  function format(value) {
    const abs = Math.abs(value);
    const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
    return Number(value).toFixed(digits);
  }

  function layout(container, data) {
    const bars = data.series.filter((s) => s.kind !== "line");
    const leftUnit = (bars[0] || data.series[0] || { unit: "" }).unit;
    const left = data.series.filter((s) => s.unit === leftUnit);
    const right = data.series.filter((s) => s.unit !== leftUnit);
    const width = Math.max(container.clientWidth || 0, 280);
    const margin = { top: 14, right: right.length ? 46 : 14, bottom: 34, left: 54 };
    return {
      bars, left, right, leftUnit, width, margin,
      plotW: width - margin.left - margin.right,
      plotH: HEIGHT - margin.top - margin.bottom,
      leftScale: niceScale(left.flatMap((s) => s.values)),
      rightScale: right.length
        ? niceScale(right.flatMap((s) => s.values), right[0].unit === "%" ? [0, 100] : null) : null,
    };
  }

  function yOf(scale, plotH, top) {
    return (v) => top + plotH - ((v - scale.min) / (scale.max - scale.min)) * plotH;
  }

  function drawAxes(root, L, labels) {
    const { margin, plotW, plotH } = L;
    const y = yOf(L.leftScale, plotH, margin.top);
    const axis = svg("g", { class: "axis" });
    for (const tick of L.leftScale.ticks) {
      root.append(svg("line", { class: "gridline", x1: margin.left, x2: margin.left + plotW, y1: y(tick), y2: y(tick) }));
      axis.append(svg("text", { x: margin.left - 6, y: y(tick) + 4, "text-anchor": "end" }, [format(tick)]));
    }
    axis.append(svg("text", { class: "axis-title", transform: `translate(12 ${margin.top + plotH / 2}) rotate(-90)`,
      "text-anchor": "middle" }, [L.leftUnit]));
    if (L.rightScale) {
      const yr = yOf(L.rightScale, plotH, margin.top);
      const x = margin.left + plotW;
      axis.append(svg("line", { x1: x, x2: x, y1: margin.top, y2: margin.top + plotH }));
      for (const tick of L.rightScale.ticks) {
        axis.append(svg("text", { x: x + 6, y: yr(tick) + 4, "text-anchor": "start" }, [format(tick)]));
      }
      axis.append(svg("text", { class: "axis-title", transform: `translate(${L.width - 8} ${margin.top + plotH / 2}) rotate(90)`,
        "text-anchor": "middle" }, [L.right[0].unit]));
    }
    const baseline = y(Math.max(L.leftScale.min, Math.min(0, L.leftScale.max)));
    axis.append(svg("line", { x1: margin.left, x2: margin.left + plotW, y1: baseline, y2: baseline }));
    axis.append(svg("line", { x1: margin.left, x2: margin.left, y1: margin.top, y2: margin.top + plotH }));
    // Label every k-th category so the labels never overlap on a narrow screen.
    const band = plotW / labels.length;
    const widest = Math.max(...labels.map((l) => l.length)) * CHAR_W + 8;
    const every = Math.max(1, Math.ceil(widest / band));
    labels.forEach((label, i) => {
      if (i % every !== 0) return;
      axis.append(svg("text", { class: "x-label", x: margin.left + band * (i + 0.5), y: margin.top + plotH + 16,
        "text-anchor": "middle" }, [label]));
    });
    root.append(axis);
  }

  function drawBars(root, L, labels) {
    const { margin, plotW, plotH, bars } = L;
    const y = yOf(L.leftScale, plotH, margin.top);
    const band = plotW / labels.length;
    // Bars stay slim when there are few rows (a month with two days), centred in their slot.
    const barW = Math.min((band * 0.8) / Math.max(bars.length, 1), 36);
    const offset = (band - barW * bars.length) / 2;
    const zero = y(Math.max(L.leftScale.min, 0));
    bars.forEach((series, j) => {
      const group = svg("g", { class: "series", "data-series": series.key });
      series.values.forEach((value, i) => {
        if (value === null || value === undefined) return;
        const top = y(value);
        group.append(svg("rect", {
          class: "bar", "data-series": series.key, "data-index": i, fill: series.color,
          x: margin.left + band * i + offset + barW * j, width: Math.max(barW - 1, 1),
          y: Math.min(top, zero), height: Math.max(Math.abs(zero - top), value === 0 ? 0 : 1),
        }, [svg("title", {}, [`${series.name} ${labels[i]}: ${format(value)} ${series.unit}`])]));
      });
      root.append(group);
    });
  }

  function drawLines(root, L, labels) {
    const { margin, plotW, plotH } = L;
    const band = plotW / labels.length;
    for (const series of L.left.concat(L.right).filter((s) => s.kind === "line")) {
      const scale = series.unit === L.leftUnit ? L.leftScale : L.rightScale;
      const y = yOf(scale, plotH, margin.top);
      let d = "";
      let pen = "M";
      const group = svg("g", { class: "series", "data-series": series.key });
      series.values.forEach((value, i) => {
        if (value === null || value === undefined) { pen = "M"; return; }
        const x = margin.left + band * (i + 0.5);
        d += `${pen}${x.toFixed(1)} ${y(value).toFixed(1)} `;
        pen = "L";
        group.append(svg("circle", { class: "point", cx: x, cy: y(value), r: 2.5, fill: series.color },
          [svg("title", {}, [`${series.name} ${labels[i]}: ${format(value)} ${series.unit}`])]));
      });
      group.prepend(svg("path", { class: "line", "data-series": series.key, d: d.trim(), stroke: series.color }));
      root.append(group);
    }
  }

  function drawLegend(list, series) {
    if (!list) return;
    list.replaceChildren(...series.map((s) => {
      const swatch = s.kind === "line"
        ? svg("line", { x1: 0, x2: 14, y1: 7, y2: 7, stroke: s.color, "stroke-width": 3 })
        : svg("rect", { width: 14, height: 14, rx: 2, fill: s.color });
      const item = document.createElement("li");
      item.dataset.series = s.key;
      item.append(svg("svg", { width: 14, height: 14, "aria-hidden": "true" }, [swatch]), `${s.name} (${s.unit})`);
      return item;
    }));
  }

  function render(container, data, options) {
    const L = layout(container, data);
    const root = svg("svg", { viewBox: `0 0 ${L.width} ${HEIGHT}`, width: L.width, height: HEIGHT,
      role: "presentation" });
    if (!data.labels.length || !data.series.length) {
      root.append(svg("text", { class: "nodata", x: L.width / 2, y: HEIGHT / 2, "text-anchor": "middle" },
        ["No data for this period"]));
    } else {
      drawAxes(root, L, data.labels);
      drawBars(root, L, data.labels);
      drawLines(root, L, data.labels);
    }
    container.replaceChildren(root);
    drawLegend((options || {}).legend, data.series);
  }

  /* Draw now and again whenever the container's width changes. */
  function attach(container, data, options) {
    render(container, data, options);
    let width = container.clientWidth;
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (container.clientWidth !== width) {
          width = container.clientWidth;
          render(container, data, options);
        }
      }, 150);
    });
  }

  return { attach, render, niceScale };
})();
