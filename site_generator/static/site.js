// The build time and each challenge's phase, from the one file every build rewrites
// (status.js), and the search over a challenge's compact index (search.js and its parts,
// loaded on the first search only). Without script the pages link to status.html and
// the boards are paged.
(function () {
  "use strict";
  var status = null;
  window.gitrampStatus = function (data) { status = data; show(); };
  function show() {
    if (!status || document.readyState === "loading") return;
    document.querySelectorAll("a.built").forEach(function (a) {
      var slug = document.body.getAttribute("data-challenge");
      var ch = slug && status.challenges[slug];
      a.textContent = "Built " + status.built.replace("T", " ").replace("Z", " UTC") +
        (ch ? "; " + ch.title + ": " + ch.phase : "") + ".";
    });
    // a board page's pager leaves the number of rows and of pages to this file: a new
    // result would otherwise rewrite every page of the board
    var rows = (status.challenges[document.body.getAttribute("data-challenge")] || {}).rows;
    document.querySelectorAll("span.of[data-board]").forEach(function (s) {
      var n = rows && rows[s.getAttribute("data-board")];
      // a pager's "of" tells the rows, or (with data-per-page) the pages
      var per = Number(s.getAttribute("data-per-page"));
      if (typeof n === "number") {
        s.lastElementChild.textContent = per ? Math.max(1, Math.ceil(n / per)) : n;
        s.hidden = false;
        // the link to status.html, for readers without script, is no longer needed
        s.parentNode.querySelectorAll("span.totals").forEach(function (t) { t.hidden = true; });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", show);

  // ------------------------------------------------------------------------ search
  var index = null, waiting = [], form = null;
  window.gitrampSearch = {
    head: function (h) { index = {head: h, rows: [], loaded: 0}; h.parts.forEach(load); },
    part: function (p) {
      index.rows[p.k] = p; index.loaded += 1;
      if (index.loaded === index.head.parts.length) { fill(); run(); }
    }
  };
  function load(src) {
    var s = document.createElement("script");
    s.src = form.getAttribute("data-croot") + src;
    document.head.appendChild(s);
  }
  function start() {
    if (index || !form) return;
    index = {loading: true};
    var s = document.createElement("script");
    s.src = form.getAttribute("data-index");
    document.head.appendChild(s);
  }
  function fill() {
    var h = index.head;
    [["team", h.teams], ["status", h.statuses], ["phase", h.phases]].forEach(function (x) {
      var sel = form.elements[x[0]];
      x[1].forEach(function (v, i) {
        if (v === "") return;
        var o = document.createElement("option"); o.value = String(i); o.textContent = v;
        sel.appendChild(o);
      });
    });
  }
  function cell(tr, text, href) {
    var td = document.createElement("td");
    if (href) { var a = document.createElement("a"); a.href = href; a.textContent = text; td.appendChild(a); }
    else td.textContent = text;
    tr.appendChild(td);
  }
  function run() {
    if (!index || !index.head || index.loaded !== index.head.parts.length) return;
    var h = index.head, croot = form.getAttribute("data-croot");
    var q = form.elements.q.value.trim().toLowerCase();
    var team = form.elements.team.value, st = form.elements.status.value, ph = form.elements.phase.value;
    var out = form.querySelector(".search-results"), count = form.querySelector(".search-count");
    out.textContent = "";
    if (!q && !team && !st && !ph) { count.textContent = ""; return; }
    // a row: [team, submission, version, score, status, phase, page or 0]; the first
    // head.ranked rows are the board's, in rank order: a row's rank is its place
    var found = [], max = 200;
    index.rows.forEach(function (p) {
      p.rows.forEach(function (r, i) {
        if (team && String(r[0]) !== team) return;
        if (st && String(r[4]) !== st) return;
        if (ph && String(r[5]) !== ph) return;
        if (q && r[1].toLowerCase().indexOf(q) < 0 && h.teams[r[0]].toLowerCase().indexOf(q) < 0) return;
        var at = p.at + i;
        found.push([at < h.ranked ? at + 1 : null, r]);
      });
    });
    count.textContent = found.length + " submission(s) found" + (found.length > max ? ", the first " + max + " shown" : "");
    if (!found.length) return;
    var table = document.createElement("table");
    table.className = "board results";
    var cap = document.createElement("caption"); cap.textContent = "Search results"; table.appendChild(cap);
    var head = document.createElement("tr");
    ["Rank", "Team", "Submission", h.score || "Score", "Status", "Phase"].forEach(function (t) {
      var th = document.createElement("th"); th.scope = "col"; th.textContent = t; head.appendChild(th);
    });
    var thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
    var body = document.createElement("tbody");
    found.slice(0, max).forEach(function (f) {
      var tr = document.createElement("tr"), r = f[1];
      var page = r[6] || ("s/" + r[1] + "~" + r[2] + ".html");
      cell(tr, f[0] === null ? "–" : String(f[0]));
      cell(tr, h.teams[r[0]]);
      cell(tr, r[1], croot + page);
      cell(tr, r[3] || "–");
      cell(tr, h.statuses[r[4]]);
      cell(tr, h.phases[r[5]] || "–");
      body.appendChild(tr);
    });
    table.appendChild(body);
    out.appendChild(table);
  }
  document.addEventListener("DOMContentLoaded", function () {
    form = document.querySelector("form.search");
    if (!form) return;
    form.hidden = false;
    form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    ["focusin", "pointerover"].forEach(function (t) { form.addEventListener(t, start); });
    form.addEventListener("input", function () { start(); run(); });
    form.addEventListener("change", function () { start(); run(); });
  });
})();
