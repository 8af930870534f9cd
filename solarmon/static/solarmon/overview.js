/* Overview: draws the live power flow, device tables and status from the REST API, and refreshes
   them in place every few seconds. A value that is not live is never drawn as live: stale values
   are greyed with their age, offline devices show no numbers. */
"use strict";

(function () {
  const root = document.getElementById("overview");
  if (!root) return;
  const S = window.Solarmon;
  const IDLE_W = 10; // below this a flow is shown as idle: meters jitter around zero
  const refreshMs = Number(root.dataset.refreshMs) || 5000;
  const todayEveryMs = refreshMs; // today's energy is live to the last poll: refresh it with the flow
  let lastToday = 0;

  // ---- power flow -------------------------------------------------------------------
  const FLOWS = {
    // line drawn node → hub; "forward" animates along it, "reverse" against it
    pv: (w) => (w >= IDLE_W ? ["producing", "forward"] : ["idle", "idle"]),
    grid: (w) => (w >= IDLE_W ? ["importing", "forward"] : w <= -IDLE_W ? ["exporting", "reverse"] : ["idle", "idle"]),
    load: (w) => (w >= IDLE_W ? ["using", "forward"] : ["idle", "idle"]),
    battery: (w) => (w >= IDLE_W ? ["charging", "reverse"] : w <= -IDLE_W ? ["discharging", "forward"] : ["idle", "idle"]),
  };
  const FIELDS = { pv: "pv_power_w", grid: "grid_power_w", load: "load_power_w", battery: "batt_power_w" };

  function setNode(name, w, moving) {
    const node = root.querySelector('[data-node="' + name + '"]');
    const value = node.querySelector(".value");
    const verb = node.querySelector(".verb");
    const line = document.getElementById("line-" + name);
    line.classList.remove("forward", "reverse", "idle");
    if (w === null || w === undefined) {
      value.textContent = "—";
      value.removeAttribute("data-w");
      verb.textContent = "";
      line.classList.add("idle");
      return;
    }
    const [word, direction] = FLOWS[name](w);
    value.textContent = S.watts(w);
    value.setAttribute("data-w", String(Math.round(w)));
    verb.textContent = word === "idle" ? "idle" : word + " " + S.kilowatts(w);
    node.dataset.direction = word;
    line.classList.add(moving ? direction : "idle");
  }

  function renderFlow(live) {
    const flow = document.getElementById("flow");
    const freshness = document.getElementById("flow-freshness");
    const state = live.ts === null ? "none" : live.live ? "live" : "stale";
    flow.dataset.live = state;
    if (state === "none") {
      freshness.textContent = "No readings yet: start the worker (make run) and check the devices below.";
    } else if (state === "stale") {
      freshness.textContent = "Not live: last reading " + S.ago(live.age_s) + ". The values below are from then.";
    } else {
      freshness.textContent = "Live · " + S.ago(live.age_s);
    }
    const show = state !== "none";
    for (const name of Object.keys(FIELDS)) setNode(name, show ? live[FIELDS[name]] : null, state === "live");
    const soc = root.querySelector('[data-field="batt_soc_pct"]');
    soc.textContent = show && live.batt_soc_pct !== null ? S.number(live.batt_soc_pct, 0, "%") : "—";
  }

  // ---- device tables ----------------------------------------------------------------
  function statusCell(status) {
    const state = status.state || "unknown";
    const label = state === "unknown" ? "not polled yet" : state;
    const parts = [S.el("span", { class: "badge state-" + state }, [label])];
    if (state === "stale" || state === "offline") {
      parts.push(S.el("span", { class: "seen" }, ["last seen " + S.ago(status.age_s)]));
    }
    if (state === "offline" && status.last_error) {
      parts.push(S.el("span", { class: "error", title: status.last_error }, [status.last_error]));
    }
    return S.el("td", { class: "status" }, parts);
  }

  const withDirection = (positive, negative) => (w) => {
    if (w === null || w === undefined) return "—";
    const word = w >= IDLE_W ? " " + positive : w <= -IDLE_W ? " " + negative : "";
    return S.watts(w) + word;
  };
  const grid = withDirection("import", "export");
  const battery = withDirection("charging", "discharging");
  const plain = (digits, unit) => (v) => S.number(v, digits, unit);
  const kwh = (v) => (v === null || v === undefined ? "—" : S.number(v / 1000, 1, "kWh"));

  function valueCells(values, columns, showNumbers) {
    return columns.map(([field, format]) => {
      const raw = values ? values[field] : null;
      const has = showNumbers && raw !== null && raw !== undefined;
      return S.el("td", { class: "num", "data-field": field, "data-value": has ? String(raw) : null },
        [has ? format(raw) : "—"]);
    });
  }

  function deviceRow(kind, id, name, status, latest, columns) {
    const state = status.state || "unknown";
    // Offline and never-polled devices show no numbers; a stale row keeps them, greyed.
    const showNumbers = latest && (state === "online" || state === "stale");
    return S.el("tr", { "data-device": kind + ":" + id, class: "state-" + state }, [
      S.el("th", { scope: "row" }, [name, S.el("small", {}, [id])]),
      statusCell(status),
      ...valueCells(latest, columns, showNumbers),
    ]);
  }

  const INVERTER_COLUMNS = [["pv_power_w", S.watts], ["load_power_w", S.watts], ["grid_power_w", grid],
    ["batt_power_w", battery], ["soc", plain(0, "%")], ["inverter_temp_c", plain(1, "°C")]];
  const PACK_COLUMNS = [["soc", plain(0, "%")], ["power_w", battery], ["voltage", plain(2, "V")],
    ["current", plain(1, "A")], ["temperature", plain(1, "°C")], ["cycles", plain(0, "")]];
  const METER_COLUMNS = [["grid_power_w", grid], ["grid_voltage_v", plain(1, "V")],
    ["grid_frequency_hz", plain(2, "Hz")], ["grid_import_wh", kwh], ["grid_export_wh", kwh]];
  const ARRAY_COLUMNS = [["pv_power_w", S.watts], ["load_power_w", S.watts], ["grid_power_w", grid],
    ["batt_power_w", battery], ["batt_soc_pct", plain(0, "%")]];

  function fill(tableId, rows) {
    const tbody = document.querySelector("#" + tableId + " tbody");
    tbody.replaceChildren(...rows);
    document.getElementById(tableId + "-card").hidden = rows.length === 0;
  }

  function renderTables(tree, live) {
    const statuses = new Map(live.devices.map((d) => [d.device_type + ":" + d.device_id, d]));
    const status = (kind, node) => statuses.get(kind + ":" + node.id) || node.status || { state: "unknown" };
    const inverters = [];
    const meters = [...tree.meters];
    for (const array of tree.arrays) {
      inverters.push(...array.inverters);
      meters.push(...array.meters);
    }
    const packs = tree.battery_arrays.flatMap((ba) => ba.packs);
    const arraySamples = new Map(live.arrays.map((a) => [a.array_id, a]));

    fill("arrays", tree.arrays.map((array) => {
      const sample = arraySamples.get(array.array_id);
      const state = !sample || sample.ts === null ? "unknown" : sample.live ? "online" : "stale";
      const reporting = sample && sample.inverters_total !== null
        ? sample.inverters_reporting + " of " + sample.inverters_total : "—";
      return S.el("tr", { "data-device": "array:" + array.array_id, class: "state-" + state }, [
        S.el("th", { scope: "row" }, [array.name, S.el("small", {}, [array.array_id])]),
        ...valueCells(sample, ARRAY_COLUMNS, state !== "unknown"),
        S.el("td", {}, [reporting, state === "stale" ? S.el("span", { class: "seen" }, [S.ago(sample.age_s)]) : null]),
      ]);
    }));
    fill("inverters", inverters.map((inv) => deviceRow("inverter", inv.inverter_id, inv.name,
      status("inverter", { id: inv.inverter_id, status: inv.status }), inv.latest, INVERTER_COLUMNS)));
    fill("packs", packs.map((pack) => deviceRow("battery_pack", pack.pack_id, pack.name,
      status("battery_pack", { id: pack.pack_id, status: pack.status }), pack.latest, PACK_COLUMNS)));
    fill("meters", meters.map((meter) => deviceRow("meter", meter.meter_id, meter.name,
      status("meter", { id: meter.meter_id, status: meter.status }), meter.latest, METER_COLUMNS)));
    document.getElementById("no-devices").hidden = inverters.length + packs.length + meters.length > 0;
  }

  // ---- today's energy ---------------------------------------------------------------
  function renderToday(today) {
    for (const node of root.querySelectorAll("[data-today]")) {
      const value = today[node.dataset.today];
      node.textContent = value === null || value === undefined ? "—" : value.toFixed(2) + " kWh";
    }
    document.getElementById("today-date").textContent = today.date;
    document.getElementById("today-empty").hidden = Boolean(today.source);
  }

  // ---- MQTT publishing (staff, when configured) ----------------------------------------
  function mqttRow(client) {
    const [word, css] = !client.running ? ["stopped", "stale"] : client.connected
      ? ["connected", "online"] : ["not connected", "offline"];
    const errorAge = client.last_error_at ? (Date.now() - Date.parse(client.last_error_at)) / 1000 : null;
    const error = client.last_error
      ? [S.el("span", { class: "error", title: client.last_error }, [client.last_error.slice(0, 120)]),
        errorAge === null ? null : S.el("span", { class: "seen" }, [" " + S.ago(errorAge)])]
      : ["—"];
    return S.el("tr", { "data-client": client.client_id }, [
      S.el("th", { scope: "row" }, [client.client_id, S.el("small", {}, [client.host + " · pid " + client.pid])]),
      S.el("td", { "data-field": "connection" }, [S.el("span", { class: "badge state-" + css }, [word])]),
      S.el("td", { class: "num", "data-field": "published" }, [String(client.published)]),
      S.el("td", { class: "num", "data-field": "dropped" }, [String(client.dropped)]),
      S.el("td", { "data-field": "last_error" }, error),
    ]);
  }

  async function refreshMqtt() {
    const card = document.getElementById("mqtt-card");
    if (!card) return;
    const page = await S.getJSON(card.dataset.clientsUrl);
    document.querySelector("#mqtt-clients tbody").replaceChildren(...page.results.map(mqttRow));
    document.getElementById("mqtt-none").hidden = page.results.length > 0;
  }

  // ---- refresh loop -----------------------------------------------------------------
  function showProblem(error) {
    const updated = document.getElementById("updated");
    updated.classList.add("problem");
    if (error instanceof S.HttpError && (error.status === 401 || error.status === 403)) {
      const next = encodeURIComponent(location.pathname + location.search);
      updated.replaceChildren("Your session has ended: ",
        S.el("a", { href: "/login/?next=" + next }, ["log in again"]), ".");
    } else {
      updated.textContent = "Cannot reach the server (" + error.message + "); retrying. Values below may be old.";
    }
  }

  async function refresh() {
    try {
      const [live, tree] = await Promise.all([S.getJSON(root.dataset.liveUrl), S.getJSON(root.dataset.treeUrl)]);
      renderFlow(live);
      renderTables(tree, live);
      await refreshMqtt();
      if (Date.now() - lastToday >= todayEveryMs) {
        renderToday(await S.getJSON(root.dataset.todayUrl));
        lastToday = Date.now();
      }
      const updated = document.getElementById("updated");
      updated.classList.remove("problem");
      updated.textContent = "Updated " + new Date().toLocaleTimeString();
    } catch (error) {
      showProblem(error);
    } finally {
      setTimeout(refresh, refreshMs);
    }
  }

  lastToday = Date.now(); // the page was rendered with today's figures
  refresh();
})();
