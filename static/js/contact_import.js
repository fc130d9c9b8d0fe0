// The progress of a running contact import: polls its status URL, updates the bar and the
// counts, and reloads the page once the import is done (to show the rows with errors).
(function () {
  "use strict";
  var box = document.querySelector("[data-import-status-url]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-import-status-url");
  var bar = box.querySelector("progress");
  var delay = 1000;

  function format(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function show(data) {
    if (bar) {
      bar.max = data.totalRows || 0;
      bar.value = data.processedRows || 0;
      bar.textContent = format(data.processedRows) + " of " + format(data.totalRows);
    }
    ["processedRows", "totalRows", "created", "updated", "errorCount"].forEach(function (name) {
      var el = box.querySelector('[data-field="' + name + '"]');
      if (el) {
        el.textContent = format(data[name]);
      }
    });
    var status = box.querySelector('[data-field="status"]');
    if (status) {
      status.textContent = data.status;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (body) {
        show(body.data);
        if (body.data.status === "done" || body.data.status === "failed") {
          window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A network blip or a restart: try again, less often.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
