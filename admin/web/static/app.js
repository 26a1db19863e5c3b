// ScenicGate admin: the live dashboard (server-sent events), the gate table
// refresh and the gate command form. No libraries, nothing fetched from
// elsewhere.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // post sends a form with the CSRF token in a header, as every script
  // POST must, and returns the parsed JSON answer.
  function post(url, form) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (r) { return r.json(); });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function feedRow(r) {
    var tr = el("tr", r.class + " fresh");
    tr.dataset.event = r.event_id;
    tr.appendChild(el("td", "", r.time));
    tr.appendChild(el("td", "", r.gate));
    var ticket = el("td");
    if (r.ticket) {
      var a = el("a", "", r.ticket);
      a.href = "/tickets/" + encodeURIComponent(r.ticket);
      ticket.appendChild(a);
    } else {
      ticket.textContent = "—";
    }
    tr.appendChild(ticket);
    tr.appendChild(el("td", "", r.visitor));
    var dec = el("td");
    dec.appendChild(el("span", "tag " + r.class, r.decision));
    if (r.offline) {
      dec.appendChild(document.createTextNode(" "));
      dec.appendChild(el("span", "tag offline", r.offline_text));
    }
    tr.appendChild(dec);
    tr.appendChild(el("td", "", r.reason));
    tr.appendChild(el("td", "", r.distance));
    tr.appendChild(el("td", "", r.method));
    return tr;
  }

  function setText(id, v) {
    var e = document.getElementById(id);
    if (e) { e.textContent = v; }
  }

  function updateGauge(g) {
    var box = document.getElementById("gauge-" + g.id);
    if (!box) { return; }
    box.className = "gauge " + g.level;
    var q = function (sel) { return box.querySelector(sel); };
    if (q(".val")) { q(".val").textContent = g.value; }
    if (q(".pct")) { q(".pct").textContent = g.percent; }
    if (q(".state")) { q(".state").textContent = g.state; }
    if (q(".fill")) { q(".fill").style.width = g.width + "%"; }
  }

  function updateChart(s) {
    var svg = document.getElementById("hourly");
    if (!svg) { return; }
    var plot = +svg.dataset.plot, base = +svg.dataset.base;
    var top = Math.max(1, Math.max.apply(null, s.hourly_entries.concat(s.hourly_denials)));
    var set = function (id, v) {
      var r = document.getElementById(id);
      if (!r) { return; }
      var h = Math.round(v / top * plot);
      r.setAttribute("y", base - h);
      r.setAttribute("height", h);
      r.querySelector("title").textContent = v;
    };
    s.hourly_entries.forEach(function (v, i) { set("bar-e-" + i, v); });
    s.hourly_denials.forEach(function (v, i) { set("bar-d-" + i, v); });
    setText("chart-max", top);
  }

  function dashboard() {
    var feed = document.getElementById("feed");
    if (!feed || !window.EventSource) { return; }
    var state = document.getElementById("live-state");
    var es = new EventSource("/events");
    var lost = false;
    es.onopen = function () {
      // Decisions made while the stream was down are only in the page's
      // next render: reload once the server is back.
      if (lost) { location.reload(); return; }
      state.textContent = state.dataset.live;
      state.classList.add("on");
    };
    es.onerror = function () {
      lost = true;
      state.textContent = state.dataset.idle;
      state.classList.remove("on");
    };
    // The session was logged out (perhaps in another tab), expired or its
    // account disabled: the server ends the stream; stop reconnecting and
    // go to the login page, which brings the visitor back here.
    es.addEventListener("session_ended", function (e) {
      es.close();
      location.assign(JSON.parse(e.data).login + "?next=" + encodeURIComponent(location.pathname + location.search));
    });
    es.addEventListener("admission", function (e) {
      var r = JSON.parse(e.data);
      if (feed.querySelector('tr[data-event="' + CSS.escape(r.event_id) + '"]')) { return; }
      var empty = feed.querySelector("tr.empty");
      if (empty) { empty.remove(); }
      feed.insertBefore(feedRow(r), feed.firstChild);
      while (feed.rows.length > 50) { feed.deleteRow(feed.rows.length - 1); }
    });
    es.addEventListener("stats", function (e) {
      var s = JSON.parse(e.data);
      setText("stat-entries", s.entries);
      setText("stat-inpark", s.in_park);
      setText("stat-exits", s.exits);
      setText("stat-denials", s.denials);
      updateGauge(s.daily);
      updateGauge(s.instant);
      updateChart(s);
    });
  }

  function gates() {
    var body = document.getElementById("gates-body");
    if (!body) { return; }
    setInterval(function () {
      fetch("/gates/rows", { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null) { body.innerHTML = html; }
      }).catch(function () {});
    }, 5000);
    var form = document.getElementById("command-form");
    var out = document.getElementById("command-result");
    if (!form || !window.fetch) { return; }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = document.getElementById("command-submit");
      button.disabled = true;
      out.className = "result";
      post(form.action, form).then(function (res) {
        out.className = "result flash " + (res.ok ? "ok" : "err");
        out.textContent = res.message;
        if (res.ok) { document.getElementById("command-reason").value = ""; }
      }).catch(function (err) {
        out.className = "result flash err";
        out.textContent = String(err);
      }).then(function () { button.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    dashboard();
    gates();
  });
})();
