// The adapter form in the admin: show only the fields the chosen transport uses, rebuild
// the form when the adapter type changes, and test the connection with what the form holds.
"use strict";

(function () {
  const script = document.getElementById("adapter-form-script");

  function rowOf(element) {
    return element.closest(".form-row") || element.closest("div.fieldBox") || element.parentElement;
  }

  function showTransportFields() {
    const transport = document.querySelector("[data-config-key=transport]");
    const chosen = transport ? transport.value : null;
    document.querySelectorAll("[data-transports]").forEach(function (input) {
      const used = !chosen || input.dataset.transports.split(" ").includes(chosen);
      rowOf(input).classList.toggle("not-for-transport", !used);
    });
  }

  function reloadForType(select) {
    // The connection fields are the chosen type's: ask the server for that type's form,
    // keeping what was typed into the first fields.
    const params = new URLSearchParams(window.location.search);
    params.set("adapter_type", select.value);
    ["adapter_id", "name"].forEach(function (name) {
      const input = document.getElementById("id_" + name);
      if (input && input.value) { params.set(name, input.value); }
    });
    window.location.search = params.toString();
  }

  function clearTestErrors() {
    document.querySelectorAll("ul.errorlist.from-test").forEach(function (list) { list.remove(); });
  }

  function markError(name, messages) {
    const input = document.querySelector("[name='" + name + "']");
    if (!input) { return false; }
    const list = document.createElement("ul");
    list.className = "errorlist from-test";
    messages.forEach(function (message) {
      const item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    const row = rowOf(input);
    row.classList.remove("not-for-transport");
    row.insertBefore(list, row.firstChild);
    return true;
  }

  function table(rows) {
    const element = document.createElement("table");
    rows.forEach(function (pair) {
      const tr = element.insertRow();
      const th = document.createElement("th");
      th.textContent = pair[0];
      tr.appendChild(th);
      tr.insertCell().textContent = typeof pair[1] === "object" ? JSON.stringify(pair[1]) : String(pair[1]);
    });
    return element;
  }

  function showResult(data) {
    const box = document.getElementById("test-connection-result");
    box.replaceChildren();
    const line = document.createElement("p");
    if (data.ok) {
      line.className = "test-ok";
      const identity = data.identity || {};
      line.textContent = "Connected: " + [identity.model, identity.serial_number].filter(Boolean).join(", serial ")
        + " (" + data.duration_ms + " ms)";
      box.appendChild(line);
      box.appendChild(table(Object.entries(data.reading || {}).filter(function (pair) {
        return pair[1] !== null && typeof pair[1] !== "object";
      })));
    } else {
      line.className = "test-error";
      line.textContent = data.error || "The test failed.";
      box.appendChild(line);
      Object.entries(data.errors || {}).forEach(function (pair) { markError(pair[0], pair[1]); });
    }
  }

  function testConnection(button) {
    const form = button.closest("form");
    const status = document.getElementById("test-connection-status");
    const body = new FormData(form);
    body.set("_original_id", script.dataset.originalId || "");
    clearTestErrors();
    button.disabled = true;
    status.textContent = "Testing…";
    fetch(script.dataset.testUrl, {method: "POST", body: body, credentials: "same-origin",
                                   headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.json(); })
      .then(showResult)
      .catch(function (error) { showResult({ok: false, error: "The test could not run: " + error}); })
      .finally(function () { button.disabled = false; status.textContent = ""; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const connection = document.querySelector("fieldset.adapter-connection");
    const panel = document.getElementById("test-connection");
    if (connection && panel) { connection.after(panel); }
    const typeSelect = document.getElementById("id_adapter_type");
    if (typeSelect) { typeSelect.addEventListener("change", function () { reloadForType(typeSelect); }); }
    const transport = document.querySelector("[data-config-key=transport]");
    if (transport) { transport.addEventListener("change", showTransportFields); }
    showTransportFields();
    document.querySelectorAll("ul.port-list li").forEach(function (item) {
      item.addEventListener("click", function () {
        const input = document.getElementById(item.parentElement.dataset.for);
        if (input) { input.value = item.querySelector("code").textContent; }
      });
    });
    const button = document.getElementById("test-connection-button");
    if (button) { button.addEventListener("click", function () { testConnection(button); }); }
  });
})();
