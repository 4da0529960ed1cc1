/* An import's progress bar: asks the server how far the task got, once a second, and reloads
   the page when the task is done (the page then shows the preview or the outcome). */
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var bar = box.querySelector("progress"), step = box.querySelector("[data-testid=import-step]"),
      percent = box.querySelector("[data-testid=import-percent]");
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.running) { window.location.reload(); return; }
        bar.value = data.percent; bar.textContent = data.percent + "%";
        step.textContent = data.step || "Waiting for a worker";
        percent.textContent = data.percent + "%";
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
