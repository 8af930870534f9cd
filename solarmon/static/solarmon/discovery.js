/* Discovery page: approve/reject buttons and "scan now", calling the REST API in place. */
"use strict";

(function () {
  const S = window.Solarmon;

  // Which buttons a device in each status offers (the API's rules: approve configures a pending
  // device or re-enables a rejected/disabled one; reject ignores it from now on).
  const OFFERS = {
    pending: ["approve", "reject"], active: ["reject"], recovering: ["reject"],
    disabled: ["approve", "reject"], rejected: ["approve"],
  };

  function describe(error) {
    if (error instanceof S.HttpError) {
      if (error.status === 403) return "Not allowed: only staff users can approve or reject devices.";
      if (error.body && error.body.detail) return error.body.detail;
      return "The server answered " + error.status + ".";
    }
    return "Cannot reach the server: " + error.message;
  }

  function showStatus(row, device) {
    row.dataset.status = device.status;
    const badge = row.querySelector('[data-field="status"]');
    badge.textContent = device.status;
    badge.className = "badge discovery-" + device.status;
    const offers = OFFERS[device.status] || [];
    for (const button of row.querySelectorAll("button[data-action]")) {
      button.hidden = !offers.includes(button.dataset.action);
    }
  }

  async function act(button) {
    const row = button.closest("tr");
    const message = row.querySelector(".message");
    const buttons = row.querySelectorAll("button[data-action]");
    buttons.forEach((b) => { b.disabled = true; });
    message.hidden = true;
    try {
      showStatus(row, await S.postJSON(button.dataset.url));
    } catch (error) {
      message.textContent = describe(error);
      message.hidden = false;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  async function runScan(button) {
    const message = document.getElementById("run-message");
    button.disabled = true;
    try {
      await S.postJSON("/api/discovered-devices/run/", {});
      message.textContent = "Scan queued: the worker probes the serial ports now. Reload this page in a minute to see what it found.";
    } catch (error) {
      message.textContent = describe(error);
    } finally {
      message.hidden = false;
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.action) act(button);
    else if (button.id === "run-discovery") runScan(button);
  });
})();
