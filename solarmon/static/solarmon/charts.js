/* Time-series charts from /api/series/ (uPlot, served from our own static files).

   Each chart shows a time range in the system's time zone: the power curves (PV, load, battery,
   grid) with SOC, a pack's cell band with its mean, SOC and temperature. Empty buckets of the API
   are null and drawn as gaps, never bridged. Pointing (or tapping) reads the exact values in the
   legend; dragging (or pinching) zooms, which fetches the zoomed range at its finer resolution;
   a double click (or "Whole range") goes back. Cards:
     <section data-curves="overview|history" data-tz data-tree-url ...>  power curves + SOC
     <section data-pack-history data-tz>                                  a pack over a period */
"use strict";

window.SolarCurves = (function () {
  const S = window.Solarmon;
  const HEIGHT = 300;
  const COLORS = { pv: "#d99a00", load: "#3465c8", battery: "#a23fb8", grid: "#1f9d55", soc: "#5c6670",
    band: "rgba(52, 101, 200, 0.18)", cell: "#c0392b", temperature: "#c2571a" };

  // ---- time zone arithmetic (the system's zone, not the browser's) -----------------
  const formats = new Map();
  function partsOf(tz, ms) {
    if (!formats.has(tz)) {
      formats.set(tz, new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric",
        month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }));
    }
    const out = {};
    for (const part of formats.get(tz).formatToParts(new Date(ms))) out[part.type] = Number(part.value);
    return out;
  }
  function offsetMs(tz, ms) {
    const p = partsOf(tz, ms);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }
  /* The instant of local midnight starting y-m-d (d may overflow: Date.UTC carries it). */
  function midnight(tz, y, m, d) {
    const wall = Date.UTC(y, m - 1, d);
    let ms = wall - offsetMs(tz, wall);
    ms = wall - offsetMs(tz, ms); // again, in case the offset changed in between (DST)
    return ms;
  }
  function localDay(tz, ms) {
    const p = partsOf(tz, ms);
    return [p.year, p.month, p.day];
  }
  function isoDay(parts) {
    return parts[0] + "-" + String(parts[1]).padStart(2, "0") + "-" + String(parts[2]).padStart(2, "0");
  }
  function parseDay(text) {
    return text.split("-").map(Number);
  }
  function clock(tz, ms, withDay) {
    const p = partsOf(tz, ms);
    const hm = String(p.hour).padStart(2, "0") + ":" + String(p.minute).padStart(2, "0");
    return withDay ? isoDay([p.year, p.month, p.day]) + " " + hm : hm;
  }

  // ---- what each target draws -----------------------------------------------------
  const POWERS = [
    { field: "pv_power_w", label: "PV", color: COLORS.pv, unit: "W" },
    { field: "load_power_w", label: "Load", color: COLORS.load, unit: "W" },
    { field: "batt_power_w", label: "Battery (+ charging)", color: COLORS.battery, unit: "W" },
    { field: "grid_power_w", label: "Grid (+ import)", color: COLORS.grid, unit: "W" },
  ];
  function powerSpecs(kind) {
    if (kind === "battery_pack") {
      return [{ field: "power_w", label: "Battery (+ charging)", color: COLORS.battery, unit: "W" },
        { field: "soc", label: "SOC", color: COLORS.soc, unit: "%" }];
    }
    return [...POWERS, { field: kind === "inverter" ? "soc" : "batt_soc_pct", label: "SOC", color: COLORS.soc,
      unit: "%" }];
  }

  function formatValue(unit, v) {
    if (v === null || v === undefined) return "—";
    if (unit === "W") return S.watts(v);
    if (unit === "V") return S.number(v, 3, "V");
    if (unit === "°C") return S.number(v, 1, "°C");
    return S.number(v, 0, unit);
  }

  function seriesUrl(path, start, end, points, fields) {
    const q = new URLSearchParams({ start: new Date(start).toISOString(), end: new Date(end).toISOString(),
      points: String(points) });
    if (fields) q.set("fields", fields.join(","));
    return path + "?" + q.toString();
  }

  /* uPlot columns from API answers: [times, ...one column per spec]; a spec reads ``part``
     (values, min or max) of ``field`` from answer ``from`` (0 unless compared), shifted by ``shift`` ms. */
  function columns(answers, specs) {
    const base = answers[0].points;
    const xs = base.map((p) => Date.parse(p.ts) / 1000);
    const cols = [xs];
    for (const spec of specs) {
      const answer = answers[spec.from || 0];
      const byTs = new Map(answer.points.map((p) => [Date.parse(p.ts) + (spec.shift || 0), p]));
      cols.push(base.map((p) => {
        const point = byTs.get(Date.parse(p.ts));
        if (!point || !point.samples) return null;
        const value = (point[spec.part || "values"] || {})[spec.field];
        return value === undefined ? null : value;
      }));
    }
    return cols;
  }

  /* Reads the value at a touch point, and zooms with two fingers (uPlot handles the mouse). */
  function touchPlugin(chart) {
    return { hooks: { init: (u) => {
      let pinch = null;
      const at = (touch) => touch.clientX - u.over.getBoundingClientRect().left;
      u.over.addEventListener("touchstart", (e) => {
        if (e.touches.length === 2) {
          e.preventDefault();
          const a = at(e.touches[0]), b = at(e.touches[1]);
          pinch = { width: Math.max(Math.abs(a - b), 10), mid: u.posToVal((a + b) / 2, "x"),
            min: u.scales.x.min, max: u.scales.x.max };
          chart.pinchActive = true;
        } else if (e.touches.length === 1) {
          const r = u.over.getBoundingClientRect();
          u.setCursor({ left: e.touches[0].clientX - r.left, top: e.touches[0].clientY - r.top });
        }
      }, { passive: false });
      u.over.addEventListener("touchmove", (e) => {
        if (pinch && e.touches.length === 2) {
          e.preventDefault();
          const k = pinch.width / Math.max(Math.abs(at(e.touches[0]) - at(e.touches[1])), 10);
          const frac = (pinch.mid - pinch.min) / (pinch.max - pinch.min);
          const span = (pinch.max - pinch.min) * k;
          pinch.to = [pinch.mid - span * frac, pinch.mid + span * (1 - frac)];
          u.setScale("x", { min: pinch.to[0], max: pinch.to[1] });
        }
      }, { passive: false });
      u.over.addEventListener("touchend", () => {
        chart.pinchActive = false;
        if (pinch && pinch.to) chart.fetch(Math.round(pinch.to[0] * 1000), Math.round(pinch.to[1] * 1000));
        pinch = null;
      });
    } } };
  }

  /* A chart over [start, end) that can be zoomed and reset, and refetches what it shows.
     ``load(start, end)`` resolves to {answers, specs}; the host keeps its own controls. */
  class RangeChart {
    constructor(host, tz, load, { height = HEIGHT, onDrawn = null } = {}) {
      this.host = host;
      this.tz = tz;
      this.load = load;
      this.height = height;
      this.onDrawn = onDrawn;
      this.base = null;
      this.view = null;
      this.plot = null;
      this.shape = "";
      this.pending = 0;
      this.resize = new ResizeObserver(() => {
        if (this.plot) this.plot.setSize({ width: this.width(), height: this.height });
      });
      this.resize.observe(host);
    }

    width() {
      return Math.max(this.host.clientWidth, 240);
    }

    /* Show [start, end) as the whole range (a new day, week, target...). */
    show(start, end) {
      this.base = [start, end];
      return this.fetch(start, end);
    }

    zoomed() {
      return Boolean(this.view && this.base && (this.view[0] !== this.base[0] || this.view[1] !== this.base[1]));
    }

    reset() {
      if (this.base) return this.fetch(this.base[0], this.base[1]);
      return Promise.resolve();
    }

    refresh() {
      return this.view ? this.fetch(this.view[0], this.view[1]) : Promise.resolve();
    }

    async fetch(start, end) {
      const ticket = ++this.pending;
      const { answers, specs } = await this.load(start, end);
      if (ticket !== this.pending) return; // a newer request has been made meanwhile
      this.view = [start, end];
      this.draw(answers, specs);
      this.host.dataset.start = new Date(start).toISOString();
      this.host.dataset.end = new Date(end).toISOString();
      this.host.dataset.step = String(answers[0].step_s);
      this.host.dataset.source = answers[0].source;
      this.host.classList.toggle("zoomed", this.zoomed());
      this.draws = (this.draws || 0) + 1;
      this.host.dataset.drawn = String(this.draws);
      if (this.onDrawn) this.onDrawn(answers, specs, this);
    }

    draw(answers, specs) {
      const data = columns(answers, specs);
      const shape = specs.map((s) => s.label + s.unit + (s.dash ? "-" : "")).join("|");
      if (this.plot && shape === this.shape) {
        this.plot.setData(data);
        return;
      }
      if (this.plot) this.plot.destroy();
      this.shape = shape;
      this.plot = new window.uPlot(this.options(specs), data, this.host);
      this.host.uplot = this.plot; // for the browser tests, and for anyone poking at a chart
    }

    options(specs) {
      const tz = this.tz;
      const chart = this;
      const units = [...new Set(specs.map((s) => s.unit))];
      const scales = { x: { time: true, range: (u, min, max) => chart.pinching(u, min, max) } };
      for (const unit of units) scales[unit] = unit === "%" ? { range: [0, 100] } : {};
      const axes = [{ stroke: "#5c6670", grid: { stroke: "#eceff2" }, values: (u, ticks) => ticks.map((ts) => {
        const p = partsOf(tz, ts * 1000);
        const hm = String(p.hour).padStart(2, "0") + ":" + String(p.minute).padStart(2, "0");
        const date = String(p.month).padStart(2, "0") + "-" + String(p.day).padStart(2, "0");
        if (u.scales.x.max - u.scales.x.min <= 2 * 86400) return hm;
        return hm === "00:00" ? date : date + " " + hm;
      }) }];
      units.forEach((unit, i) => axes.push({
        scale: unit, side: i === 0 ? 3 : 1, stroke: "#5c6670", size: unit === "°C" ? 64 : 56, grid: { show: i === 0, stroke: "#eceff2" },
        values: (u, ticks) => ticks.map((v) => (unit === "W" && Math.abs(v) >= 1000 ? v / 1000 + " kW"
          : v + (unit === "V" ? "" : " ") + unit)),
      }));
      const bands = [];
      specs.forEach((spec, i) => {
        if (spec.bandWith !== undefined) bands.push({ series: [i + 1, spec.bandWith + 1], fill: COLORS.band });
      });
      return {
        width: this.width(), height: this.height,
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), tz),
        scales, axes, bands,
        legend: { live: true },
        cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 7 },
          bind: { dblclick: () => () => { chart.reset(); return null; } } },
        series: [
          { label: "Time", value: (u, ts) => (ts === null || ts === undefined ? "—"
            : clock(tz, ts * 1000, (chart.view[1] - chart.view[0]) > 86400000)) },
          ...specs.map((spec) => ({
            label: spec.label, scale: spec.unit, stroke: spec.color, width: spec.width || 1.6,
            dash: spec.dash, spanGaps: false, points: { show: false },
            value: (u, v) => formatValue(spec.unit, v),
          })),
        ],
        hooks: {
          setSelect: [(u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, "x") * 1000;
            const to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            chart.fetch(Math.round(from), Math.round(to));
          }],
          setCursor: [(u) => {
            const i = u.cursor.idx;
            chart.host.dataset.cursorTs = i === null || i === undefined ? "" : String(u.data[0][i]);
          }],
        },
        plugins: [touchPlugin(chart)],
      };
    }

    /* The x scale always spans the range asked for (empty buckets included), except while
       two fingers are zooming it. */
    pinching(u, min, max) {
      if (this.pinchActive || !this.view) return [min, max];
      return [this.view[0] / 1000, this.view[1] / 1000];
    }
  }

  // ---- the target picker (system, arrays, inverters, packs) -------------------------
  async function fillTargets(select, treeUrl, systemId) {
    const tree = await S.getJSON(treeUrl);
    const options = [["system:" + systemId, "Whole system"]];
    for (const array of tree.arrays) {
      options.push(["array:" + array.array_id, "Array " + array.name]);
      for (const inv of array.inverters) options.push(["inverter:" + inv.inverter_id, "Inverter " + inv.name]);
    }
    for (const ba of tree.battery_arrays) {
      for (const pack of ba.packs) options.push(["battery_pack:" + pack.pack_id, "Pack " + pack.name]);
    }
    const chosen = select.value;
    select.replaceChildren(...options.map(([value, label]) => S.el("option", { value }, [label])));
    if (options.some(([value]) => value === chosen)) select.value = chosen;
    return tree;
  }

  function split(target) {
    const at = target.indexOf(":");
    return [target.slice(0, at), target.slice(at + 1)];
  }

  function rangeOf(tz, period, dayText) {
    const [y, m, d] = parseDay(dayText);
    if (period === "week") return [midnight(tz, y, m, d - 6), midnight(tz, y, m, d + 1)];
    if (period === "month") return [midnight(tz, y, m, 1), midnight(tz, y, m + 1, 1)];
    if (period === "year") return [midnight(tz, y, 1, 1), midnight(tz, y + 1, 1, 1)];
    return [midnight(tz, y, m, d), midnight(tz, y, m, d + 1)];
  }

  // ---- power curves: overview (today, live) and history (any period, compare days) ---
  function curves(card) {
    const tz = card.dataset.tz || "UTC";
    const mode = card.dataset.curves;
    const select = card.querySelector("[data-target]");
    const periodInput = card.querySelector("[data-period-choice]");
    const dayInput = card.querySelector("[data-day]");
    const compareInput = card.querySelector("[data-compare]");
    const note = card.querySelector("[data-note]");
    const host = card.querySelector(".curves-chart");
    const liveMs = Number(card.dataset.liveMs) || 30000;

    function today() {
      return isoDay(localDay(tz, Date.now()));
    }

    async function load(start, end) {
      const [kind, id] = split(select.value);
      const specs = powerSpecs(kind);
      const path = "/api/series/" + encodeURIComponent(kind) + "/" + encodeURIComponent(id) + "/";
      const fields = specs.map((s) => s.field);
      const urls = [seriesUrl(path, start, end, 720, fields)];
      const compare = mode === "history" && compareInput && compareInput.value && periodInput.value === "day"
        ? rangeOf(tz, "day", compareInput.value) : null;
      if (compare) {
        const shift = rangeOf(tz, "day", dayInput.value)[0] - compare[0];
        urls.push(seriesUrl(path, start - shift, end - shift, 720, fields));
        for (const spec of [...specs]) {
          specs.push(Object.assign({}, spec, { from: 1, shift, dash: [5, 4], width: 1.2,
            label: spec.label + " · " + compareInput.value }));
        }
      }
      card.dataset.url = urls[0];
      const answers = await Promise.all(urls.map((url) => S.getJSON(url)));
      return { answers, specs };
    }

    function drawn(answers) {
      const points = answers[0].points;
      const last = points.map((p) => p.samples > 0).lastIndexOf(true);
      const now = Date.now();
      if (!note) return;
      if (last < 0) {
        note.textContent = "No readings in this period.";
      } else if (mode === "overview") {
        const lastEnd = Date.parse(points[last].ts) + answers[0].step_s * 1000;
        const late = now - lastEnd > Math.max(3 * answers[0].step_s * 1000, 10 * 60000);
        note.textContent = late ? "Not live: no readings since " + clock(tz, lastEnd) + " (the curve stops there)."
          : "Live: the curves follow the readings (" + Math.round(answers[0].step_s / 60) + "-minute steps here).";
      } else {
        note.textContent = "Resolution: " + (answers[0].step_s >= 3600 ? Math.round(answers[0].step_s / 3600)
          + " h" : Math.round(answers[0].step_s / 60) + " min") + " (from the " + answers[0].source + " data).";
      }
      card.dataset.live = mode === "overview" && note.textContent.startsWith("Live") ? "live" : "stale";
    }

    const chart = new RangeChart(host, tz, load, { onDrawn: drawn });
    const problem = (error) => { if (note) note.textContent = "Cannot load the chart (" + error.message + ")."; };

    function showChosen() {
      if (mode === "overview") return chart.show(...rangeOf(tz, "day", today())).catch(problem);
      return chart.show(...rangeOf(tz, periodInput.value, dayInput.value || today())).catch(problem);
    }

    for (const input of [select, periodInput, dayInput, compareInput]) {
      if (input) input.addEventListener("change", showChosen);
    }
    const resetButton = card.querySelector("[data-reset]");
    if (resetButton) resetButton.addEventListener("click", () => chart.reset().catch(problem));

    fillTargets(select, card.dataset.treeUrl, card.dataset.system).then(showChosen).catch(problem);
    if (mode === "overview") {
      // Live: the day's range follows the clock (a new day at local midnight); a zoomed view is kept.
      setInterval(() => {
        if (chart.zoomed()) return;
        chart.show(...rangeOf(tz, "day", today())).catch(problem);
      }, liveMs);
    }
    return chart;
  }

  // ---- a pack over a period: cell band and mean, one cell, SOC and temperature ------
  function packHistory(card) {
    const tz = card.dataset.tz || "UTC";
    const packSelect = card.querySelector("[data-pack]");
    const periodInput = card.querySelector("[data-period-choice]");
    const cellSelect = card.querySelector("[data-cell]");
    const weakest = card.querySelector("[data-weakest]");
    const note = card.querySelector("[data-note]");
    const cellsHost = card.querySelector(".cells-chart");
    const levelsHost = card.querySelector(".levels-chart");
    const DAYS = { day: 1, week: 7, month: 30 };
    let tree = null;

    function packPath() {
      return "/api/series/battery_pack/" + encodeURIComponent(packSelect.value) + "/";
    }

    /* The chosen cell's series over the range, if a cell is chosen. */
    function cellUrls(start, end) {
      if (!cellSelect.value) return [];
      return [seriesUrl("/api/series/cell/" + encodeURIComponent(cellSelect.value) + "/", start, end, 720)];
    }

    async function loadCells(start, end) {
      const specs = [
        { field: "cell_voltage", part: "max", label: "Highest cell", color: COLORS.load, unit: "V", width: 1 },
        { field: "cell_voltage", part: "min", label: "Lowest cell", color: COLORS.load, unit: "V", width: 1,
          bandWith: 0 },
        { field: "cell_voltage", label: "Mean", color: "#1b2a4a", unit: "V", width: 2 },
      ];
      const urls = [seriesUrl(packPath(), start, end, 720, ["cell_voltage"]), ...cellUrls(start, end)];
      if (urls.length > 1) {
        specs.push({ field: "voltage", from: 1, label: cellSelect.selectedOptions[0].textContent,
          color: COLORS.cell, unit: "V", dash: [4, 3] });
      }
      card.dataset.url = urls[0];
      return { answers: await Promise.all(urls.map((url) => S.getJSON(url))), specs };
    }

    async function loadLevels(start, end) {
      const specs = [{ field: "soc", label: "SOC", color: COLORS.soc, unit: "%" },
        { field: "temperature", label: "Pack temperature", color: COLORS.temperature, unit: "°C" }];
      const urls = [seriesUrl(packPath(), start, end, 720, ["soc", "temperature"]), ...cellUrls(start, end)];
      if (urls.length > 1) {
        specs.push({ field: "temperature", from: 1, label: "Cell temperature", color: COLORS.cell, unit: "°C",
          dash: [4, 3] });
      }
      return { answers: await Promise.all(urls.map((url) => S.getJSON(url))), specs };
    }

    async function showWeakest(start, end) {
      const url = "/api/battery-packs/" + encodeURIComponent(packSelect.value) + "/weakest-cell/?"
        + new URLSearchParams({ start: new Date(start).toISOString(), end: new Date(end).toISOString() });
      try {
        const found = await S.getJSON(url);
        weakest.dataset.cell = found.cell_id;
        weakest.replaceChildren("Weakest cell of the period: ",
          S.el("b", {}, ["unit " + found.battery_index + ", cell " + found.cell_index]),
          " (" + found.cell_id + "), down to " + found.voltage_v.toFixed(3) + " V at "
          + clock(tz, Date.parse(found.at), end - start > 86400000) + ".");
      } catch (error) {
        weakest.dataset.cell = "";
        weakest.textContent = error.status === 404 ? "No cell readings in this period." : "";
      }
    }

    const problem = (error) => { note.textContent = "Cannot load the charts (" + error.message + ")."; };
    const cells = new RangeChart(cellsHost, tz, loadCells, { onDrawn: (answers, specs, chart) => {
      levels.fetch(chart.view[0], chart.view[1]).catch(problem);
      showWeakest(chart.view[0], chart.view[1]);
    } });
    const levels = new RangeChart(levelsHost, tz, loadLevels, { height: 220 });

    function fillCells() {
      const pack = tree.battery_arrays.flatMap((ba) => ba.packs).find((p) => p.pack_id === packSelect.value);
      const options = [S.el("option", { value: "" }, ["no single cell"])];
      for (const battery of (pack ? pack.batteries : [])) {
        for (const cell of battery.cells || []) {
          options.push(S.el("option", { value: cell.cell_id },
            ["unit " + battery.battery_index + " cell " + cell.cell_index]));
        }
      }
      cellSelect.replaceChildren(...options);
    }

    function showChosen() {
      const end = Date.now();
      return cells.show(end - DAYS[periodInput.value] * 86400000, end).catch(problem);
    }

    packSelect.addEventListener("change", () => { fillCells(); showChosen(); });
    periodInput.addEventListener("change", showChosen);
    cellSelect.addEventListener("change", () => cells.refresh().catch(problem));
    card.querySelector("[data-reset]").addEventListener("click", () => cells.reset().catch(problem));
    S.getJSON(card.dataset.treeUrl).then((found) => { tree = found; fillCells(); return showChosen(); })
      .catch(problem);
    return { cells, levels };
  }

  for (const card of document.querySelectorAll("[data-curves]")) curves(card);
  for (const card of document.querySelectorAll("[data-pack-history]")) packHistory(card);

  return { RangeChart, midnight, rangeOf, columns };
})();
