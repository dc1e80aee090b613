// Sortable tables: each header of a table.sortable becomes a button that sorts its
// column. Cells may carry data-sort with the value to compare; numbers sort as numbers,
// empty values last. Without JavaScript the tables stay as rendered (already ranked).
(function () {
  "use strict";
  function key(cell) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var n = Number(raw);
    return raw === "" ? null : (isNaN(n) ? raw.toLowerCase() : n);
  }
  function compare(a, b) {
    if (a === null) return b === null ? 0 : 1;
    if (b === null) return -1;
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === "number" ? -1 : 1;
  }
  function sortBy(table, th, col) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, i) { return [row.cells[col] ? key(row.cells[col]) : null, i, row]; });
    keyed.sort(function (x, y) {
      var c = compare(x[0], y[0]);
      if (c !== 0 && x[0] !== null && y[0] !== null && !ascending) c = -c;
      return c || x[1] - y[1];
    });
    table.querySelectorAll("thead th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    body.appendChild(frag);
  }
  function setup(table) {
    var head = table.tHead;
    if (!head || !table.tBodies.length) return;
    var row = head.rows[head.rows.length - 1];
    Array.prototype.forEach.call(row.cells, function (th, col) {
      if (th.colSpan !== 1) return;
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, th, col); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(setup);
  });
})();
