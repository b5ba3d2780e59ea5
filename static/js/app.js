// SoloSales: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // The browser's time zone, so pages (and a new account) show times as local.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + tz) === -1) {
      document.cookie = "tz=" + tz + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* older browsers: times stay in the account's zone */ }
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  document.querySelectorAll("select.js-autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var target = document.getElementById(btn.getAttribute("data-copy"));
      if (target && navigator.clipboard) { navigator.clipboard.writeText(target.textContent.trim()); }
    });
  });
  // Elements with data-poll-url are refreshed from JSON while data-poll-active is "true":
  // data.fields fill [data-field] inside the box, data.html fills [data-html] anywhere on the page.
  document.querySelectorAll("[data-poll-url]").forEach(function (box) {
    var url = box.getAttribute("data-poll-url");
    var interval = parseInt(box.getAttribute("data-poll-interval") || "2000", 10);
    function tick() {
      if (box.getAttribute("data-poll-active") !== "true") { return; }
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          Object.keys(data.fields || {}).forEach(function (key) {
            box.querySelectorAll("[data-field='" + key + "']").forEach(function (el) { el.textContent = data.fields[key]; });
          });
          if (typeof data.percent === "number") {
            box.querySelectorAll("progress").forEach(function (p) { p.value = data.percent; });
          }
          if (data.html) {
            Object.keys(data.html).forEach(function (key) {
              document.querySelectorAll("[data-html='" + key + "']").forEach(function (el) { el.innerHTML = data.html[key]; });
            });
          }
          if (data.active === false) {
            box.setAttribute("data-poll-active", "false");
            document.querySelectorAll("[data-hide-when-done]").forEach(function (el) { el.hidden = true; });
            if (data.reload) { window.location.reload(); }
          }
        })
        .catch(function () {})
        .finally(function () { if (box.getAttribute("data-poll-active") === "true") { setTimeout(tick, interval); } });
    }
    setTimeout(tick, interval);
  });
})();
