// Client-side search and filters for the archive index. Reads the search data from a JSON
// block in the page (no request: this works from file:// as from any static host).
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var dataBlock = document.getElementById("search-data");
  if (!form || !dataBlock) { return; }
  var texts = JSON.parse(dataBlock.textContent || "{}");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.record"));
  var q = document.getElementById("q");
  var outcome = document.getElementById("outcome");
  var from = document.getElementById("from");
  var to = document.getElementById("to");
  var standing = document.getElementById("standing");
  var shown = document.getElementById("shown");
  var none = document.getElementById("none");

  function words(value) {
    return value.normalize("NFKC").toLocaleLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
  }

  function apply() {
    var wanted = words(q.value);
    var count = 0;
    rows.forEach(function (row) {
      var text = (texts[row.dataset.id] || "").toLocaleLowerCase();
      var closed = row.dataset.closed;
      var ok = wanted.every(function (w) { return text.indexOf(w) !== -1; })
        && (!outcome.value || row.dataset.outcome === outcome.value)
        && (!from.value || closed >= from.value)
        && (!to.value || closed <= to.value)
        && (!standing.checked || Number(row.dataset.standing) > 0);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count + " shown";
    if (none) { none.hidden = count !== 0; }
  }

  form.addEventListener("input", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  // A search given in the address (index.html?q=word) is applied on load.
  var params = new URLSearchParams(window.location.search);
  if (params.has("q")) { q.value = params.get("q"); }
  if (params.has("outcome")) { outcome.value = params.get("outcome"); }
  if (params.get("standing") === "1") { standing.checked = true; }
  apply();
})();
