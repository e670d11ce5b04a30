// Per-sample explorer. Data comes from the JSON script element #explorer-data and is put on
// screen only through textContent (never innerHTML), so model or dataset text cannot become markup.
// Row layout: [run, id, sample, status (0 correct, 1 incorrect, 2 error), extracted, gold, latency,
//              completion tokens, messages, response textIndex, error, finish, why it was wrong (the
//              grader's reason, or null)]. messages is [prefixIndex, [[role, textIndex], ...]]:
//              data.prefixes[prefixIndex] (the turns shared with other rows: system prompt, few-shot
//              exemplars) followed by the row's own turns.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var texts = data.texts, rows = data.rows, PAGE = 50;
  var state = { status: "all", run: "all", query: "", page: 0 };
  var haystacks = null;
  var body = document.getElementById("explorer-rows");
  var countEl = document.getElementById("explorer-count");
  var search = document.getElementById("explorer-search");
  var runSelect = document.getElementById("explorer-run");
  var STATUS = [["correct", "ok"], ["incorrect", "bad"], ["error", "errc"]];

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function show(value) { return value === null || value === undefined ? "—" : (typeof value === "string" ? value : JSON.stringify(value)); }
  function text(i) { return i === null || i === undefined ? null : texts[i]; }
  function messages(r) { return data.prefixes[r[8][0]].concat(r[8][1]); }
  function lastUser(r) {
    var m = messages(r);
    for (var i = m.length - 1; i >= 0; i--) if (m[i][0] === "user") return text(m[i][1]);
    return "";
  }
  function haystack(i) {
    if (!haystacks) {
      haystacks = rows.map(function (r) {
        return [r[1], show(r[4]), show(r[5]), text(r[9]) || "", r[10] || "", lastUser(r), r[12] || ""].join("\n").toLowerCase();
      });
    }
    return haystacks[i];
  }
  function matches(i) {
    var r = rows[i];
    if (state.status === "correct" && r[3] !== 0) return false;
    if (state.status === "incorrect" && r[3] === 0) return false;
    if (state.status === "errors" && r[3] !== 2) return false;
    if (state.run !== "all" && String(r[0]) !== state.run) return false;
    var q = state.query.trim().toLowerCase();
    if (!q) return true;
    if (q.indexOf("id:") === 0) return r[1].toLowerCase() === q.slice(3).trim();
    return haystack(i).indexOf(q) !== -1;
  }
  function detail(r) {
    var td = el("td");
    td.colSpan = 7;
    var facts = "run " + data.runs[r[0]] + " · item " + r[1] + " · sample " + r[2] + " · latency " +
      (r[6] === null ? "—" : r[6].toFixed(2) + " s") + " · " + (r[7] === null ? "—" : r[7]) + " output tokens" +
      " · finish: " + (r[11] || "—");
    td.appendChild(el("p", facts, "muted"));
    if (r[10]) { td.appendChild(el("div", "error", "role")); td.appendChild(el("pre", r[10])); }
    td.appendChild(el("div", "question (last user message)", "role"));
    td.appendChild(el("pre", lastUser(r)));
    td.appendChild(el("div", "response", "role"));
    td.appendChild(el("pre", text(r[9]) === null ? "(no response)" : text(r[9])));
    if (r[12]) { td.appendChild(el("div", "why it was wrong", "role")); td.appendChild(el("pre", r[12])); }
    td.appendChild(el("div", "extracted answer", "role"));
    td.appendChild(el("pre", show(r[4])));
    td.appendChild(el("div", "gold answer", "role"));
    td.appendChild(el("pre", show(r[5])));
    var full = el("details", null, "flip");
    var all = messages(r);
    full.appendChild(el("summary", "full prompt: " + all.length + " message(s) as sent (system, few-shot turns, question)"));
    all.forEach(function (m) {
      full.appendChild(el("div", m[0], "role"));
      full.appendChild(el("pre", text(m[1])));
    });
    td.appendChild(full);
    var tr = el("tr", null, "detail");
    tr.appendChild(td);
    return tr;
  }
  function rowNode(i) {
    var r = rows[i], st = STATUS[r[3]];
    var tr = el("tr", null, "sample");
    tr.dataset.index = String(i);
    tr.dataset.status = st[0];
    tr.appendChild(el("td", data.runs.length > 1 ? data.runs[r[0]] : (i + 1), "hide-narrow"));
    var idCell = el("td", r[1] + (data.multi ? " #" + r[2] : ""));
    tr.appendChild(idCell);
    var badge = el("span", st[0], "badge " + st[1]);
    var stCell = el("td"); stCell.appendChild(badge); tr.appendChild(stCell);
    tr.appendChild(el("td", show(r[4]), "text"));
    tr.appendChild(el("td", show(r[5]), "text"));
    tr.appendChild(el("td", r[6] === null ? "—" : r[6].toFixed(2), "num hide-narrow"));
    tr.appendChild(el("td", "▸", "muted"));
    tr.addEventListener("click", function () {
      var next = tr.nextSibling;
      if (next && next.className === "detail") { body.removeChild(next); tr.lastChild.textContent = "▸"; return; }
      body.insertBefore(detail(r), tr.nextSibling);
      tr.lastChild.textContent = "▾";
    });
    return tr;
  }
  function render() {
    var hits = [];
    for (var i = 0; i < rows.length; i++) if (matches(i)) hits.push(i);
    var pages = Math.max(1, Math.ceil(hits.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * PAGE, shown = hits.slice(start, start + PAGE);
    while (body.firstChild) body.removeChild(body.firstChild);
    shown.forEach(function (i) { body.appendChild(rowNode(i)); });
    countEl.textContent = hits.length === 0 ? "No samples match." :
      "Showing " + (start + 1) + "–" + (start + shown.length) + " of " + hits.length + " matching samples (" + rows.length + " in total).";
    document.getElementById("explorer-page").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("explorer-prev").disabled = state.page === 0;
    document.getElementById("explorer-next").disabled = state.page >= pages - 1;
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (button) {
    button.addEventListener("click", function () {
      state.status = button.getAttribute("data-filter");
      state.page = 0;
      Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      render();
    });
  });
  search.addEventListener("input", function () { state.query = search.value; state.page = 0; render(); });
  if (runSelect) runSelect.addEventListener("change", function () { state.run = runSelect.value; state.page = 0; render(); });
  document.getElementById("explorer-prev").addEventListener("click", function () { state.page--; render(); });
  document.getElementById("explorer-next").addEventListener("click", function () { state.page++; render(); });
  function fromHash() {
    var m = /^#item=(.+)$/.exec(location.hash);
    if (m) { search.value = "id:" + decodeURIComponent(m[1]); state.query = search.value; state.page = 0; }
  }
  window.addEventListener("hashchange", function () { fromHash(); render(); });
  fromHash();
  render();
})();
