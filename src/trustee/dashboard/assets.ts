/**
 * The dashboard's two static files, served from the same origin so the page's CSP allows no
 * inline code: the style sheet, and the script that keeps the page live. The script opens an
 * EventSource on `stream` (each new event as one JSON message) and adds rows to the
 * attestation and denial tables with `textContent` only, the same cells `render.ts` draws.
 */

/** `app.css`. */
export const DASHBOARD_CSS = `body{font-family:system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.2rem;background:#1d3557;color:#fff}
header h1{font-size:1.2rem;margin:0}header .meta{margin:0;flex:1;font-size:.85rem;opacity:.9}
header form{margin:0}
main{padding:.4rem 1.2rem 2rem}
section{margin-top:1.2rem}h2{font-size:1.05rem;margin:.2rem 0 .5rem}.count{font-weight:400;color:#5b6570}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.82rem}
th,td{border:1px solid #d9dde2;padding:.25rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef1f4}
tr.deny td:nth-child(2),#denials td:last-child{color:#a4161a;font-weight:600}
tr.allow td:nth-child(2){color:#2b7a0b;font-weight:600}
tr.fresh{animation:fresh 2s ease-out}@keyframes fresh{from{background:#fff3bf}to{background:#fff}}
ul#resources{columns:3;background:#fff;border:1px solid #d9dde2;padding:.5rem 1.8rem;font-size:.82rem;margin:0}
.login{max-width:34rem;margin:4rem auto;background:#fff;border:1px solid #d9dde2;padding:1.5rem}
.login textarea{width:100%;font-family:monospace;margin:.4rem 0 .8rem}
.refused{color:#a4161a;font-weight:600}.note{color:#5b6570;font-size:.85rem}
#live.on{color:#b7f7b0}
`;

/** `app.js`: live rows from the event stream. */
export const DASHBOARD_JS = `"use strict";
(function () {
  var MAX_ROWS = 200;
  function vector(e) {
    if (!e.ear) return "";
    return Object.keys(e.ear).map(function (name) {
      var a = e.ear[name];
      var tv = Object.keys(a.trust_vector).map(function (k) { return k + " " + a.trust_vector[k]; });
      return name + " " + a.status + (tv.length ? ": " + tv.join(", ") : "");
    }).join("; ");
  }
  function who(e) {
    var w = e.who || {}, p = [];
    if (w.admin) p.push(("admin " + (w.admin.sub || w.admin.role || "")).trim());
    if (w.client) p.push(w.client);
    if (w.tee_key) p.push("key " + w.tee_key.slice(0, 12) + "\\u2026");
    return p.join(", ");
  }
  function failure(e) { return e.failure ? e.failure.code + ": " + e.failure.detail : ""; }
  function prepend(tableId, cells, cls) {
    var body = document.querySelector("#" + tableId + " tbody");
    if (!body) return;
    var tr = document.createElement("tr");
    tr.className = (cls ? cls + " " : "") + "fresh";
    cells.forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    });
    body.insertBefore(tr, body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  }
  var live = document.getElementById("live");
  var source = new EventSource("${"/kbs/v0/dashboard"}/stream");
  source.onopen = function () { live.textContent = "live"; live.className = "on"; };
  source.onerror = function () { live.textContent = "reconnecting\\u2026"; live.className = ""; };
  source.onmessage = function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (err) { return; }
    if (e.kind === "attestation") {
      prepend("attestations", [e.time, e.verdict, e.tee || "", who(e), vector(e), failure(e)], e.verdict);
    }
    if (e.verdict === "deny") {
      prepend("denials", [e.time, e.kind, e.action, e.resource || e.tee || "", who(e), failure(e)]);
    }
  };
})();
`;
