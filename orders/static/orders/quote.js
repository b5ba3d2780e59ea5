// New-order form: live quote from POST /api/v1/orders/quote/ as the form changes.
// The page works without this file (the "Update quote" button asks the server).
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  var box = document.getElementById("quote");
  if (!form || !box) { return; }
  var url = box.getAttribute("data-quote-url");
  var LISTS = ["titles", "keywords", "regions", "exclude_companies", "exclude_domains"];
  var CHOICES = ["seniorities", "departments", "industries", "company_sizes", "countries"];
  var timer = null;
  var seq = 0;

  function splitList(text) {
    return (text || "").split(/[,\n\r，;；]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function body() {
    var data = new FormData(form);
    var criteria = {};
    LISTS.forEach(function (name) { criteria[name] = splitList(data.get(name)); });
    CHOICES.forEach(function (name) { criteria[name] = data.getAll(name); });
    var raw = (data.get("target_count") || "").trim();
    var target = /^\d+$/.test(raw) ? parseInt(raw, 10) : raw;
    return { type: data.get("type") || "list", target_count: target, criteria: criteria };
  }

  function show(values, message) {
    ["unit_price", "max_cost", "available", "shortfall"].forEach(function (key) {
      var el = box.querySelector("[data-quote='" + key + "']");
      if (el) { el.textContent = values && values[key] !== undefined ? String(values[key]) : "—"; }
    });
    var warn = box.querySelector("[data-quote-shortfall]");
    if (warn) { warn.hidden = !(values && values.shortfall > 0); }
    var msg = box.querySelector("[data-quote-message]");
    if (msg) { msg.textContent = message || ""; }
  }

  function errorText(payload) {
    var err = payload && payload.error;
    if (!err) { return ""; }
    var fields = (err.detail && err.detail.fields) || {};
    var parts = [];
    Object.keys(fields).forEach(function (key) { parts = parts.concat(fields[key]); });
    return parts.length ? parts.join(" ") : err.message;
  }

  function refresh() {
    var mine = ++seq;
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify(body())
    })
      .then(function (r) { return r.json().then(function (payload) { return { ok: r.ok, payload: payload }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }
        if (res.ok) { show(res.payload, ""); } else { show(null, errorText(res.payload)); }
      })
      .catch(function () {});
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  refresh();
})();
