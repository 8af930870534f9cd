/* Alerts page: the acknowledge buttons call the REST API in place. */
"use strict";

(function () {
  const S = window.Solarmon;

  function describe(error) {
    if (error instanceof S.HttpError) {
      if (error.body && error.body.detail) return error.body.detail;
      return "The server answered " + error.status + ".";
    }
    return "Cannot reach the server: " + error.message;
  }

  async function acknowledge(button) {
    const cell = button.closest("td");
    const message = cell.querySelector(".message");
    button.disabled = true;
    message.hidden = true;
    try {
      const alert = await S.postJSON(button.dataset.url);
      cell.replaceChildren(S.el("span", { "data-field": "acknowledged" }, ["by " + alert.acknowledged_by + ", just now"]));
    } catch (error) {
      message.textContent = describe(error);
      message.hidden = false;
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action='acknowledge']");
    if (button) acknowledge(button);
  });
})();
