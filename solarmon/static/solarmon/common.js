/* solarmon dashboard: small helpers shared by every page (no framework, no build step). */
"use strict";

window.Solarmon = (function () {
  function cookie(name) {
    const match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* An error that carries the HTTP status, so callers can tell "logged out" from "server down". */
  class HttpError extends Error {
    constructor(status, body) {
      super("HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  async function request(url, options) {
    const response = await fetch(url, Object.assign({
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    }, options || {}));
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new HttpError(response.status, body);
    return body;
  }

  function getJSON(url) {
    return request(url);
  }

  /* POST with the CSRF token Django expects from a session-authenticated page. */
  function postJSON(url, data) {
    return request(url, {
      method: "POST",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": cookie("csrftoken"),
      },
      body: JSON.stringify(data || {}),
    });
  }

  /* Whole watts with a thin space between thousands: "12 345 W". */
  function watts(value) {
    if (value === null || value === undefined) return "—";
    const rounded = Math.round(Math.abs(value));
    return String(rounded).replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009") + " W";
  }

  function kilowatts(value) {
    const abs = Math.abs(value);
    return abs >= 1000 ? (abs / 1000).toFixed(1) + " kW" : Math.round(abs) + " W";
  }

  function number(value, digits, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    return Number(value).toFixed(digits) + (unit ? " " + unit : "");
  }

  /* "12 s ago", "3 min ago", "2 h ago", "4 days ago". */
  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "never";
    const s = Math.max(0, Math.round(seconds));
    if (s < 90) return s + " s ago";
    if (s < 90 * 60) return Math.round(s / 60) + " min ago";
    if (s < 36 * 3600) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }

  /* Build an element: el("td", {class: "num", "data-field": "pv"}, ["123 W"]). */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /* A <select data-autosubmit> submits its form when changed (the system picker). */
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });

  return { HttpError, getJSON, postJSON, watts, kilowatts, number, ago, el };
})();

/* Pages with <div id="autorefresh" data-every-s="N"> re-read themselves every N seconds and swap
   in the new content, so the figures stay current without a full page load. */
(function () {
  const marker = document.getElementById("autorefresh");
  if (!marker) return;
  const every = Math.max(Number(marker.dataset.everyS) || 15, 1) * 1000;
  async function reload() {
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (response.ok && !response.redirected) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("content");
        if (fresh) {
          // Parts marked data-keep (charts with their own state) stay as they are.
          for (const kept of fresh.querySelectorAll("[data-keep][id]")) {
            const shown = document.getElementById(kept.id);
            if (shown) kept.replaceWith(shown);
          }
          document.getElementById("content").replaceChildren(...fresh.childNodes);
        }
      }
    } catch (error) {
      // Offline for a moment: keep what is shown and try again at the next tick.
    }
    setTimeout(reload, every);
  }
  setTimeout(reload, every);
})();
