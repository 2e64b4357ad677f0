/**
 * The dashboard's pages, rendered on the server as plain HTML: recent attestations with their
 * EAR trust vectors, denials with the failed rule, resource names (never values), policies and
 * reference values. Every string that comes from a request, a store or an event is escaped
 * here; the page runs no inline script (`assets.ts` is served from the same origin and adds
 * live rows with `textContent` only).
 */
import type { TrusteeEvent } from "../events/index.js";
import type { ReferenceValueInfo } from "../rvps/index.js";

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

/** Where the dashboard lives (the admin ACL sees this path). */
export const DASHBOARD_PATH = "/kbs/v0/dashboard";

/** The headers of every dashboard page: no framing, no foreign script, nothing cached. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // Not no-referrer: with it a browser posts the sign-in form with `Origin: null`, and the
  // origin check could not tell it from a cross-site post.
  "referrer-policy": "same-origin",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

function page(title: string, body: string, withScript = false): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${DASHBOARD_PATH}/app.css">
${withScript ? `<script src="${DASHBOARD_PATH}/app.js" defer></script>\n` : ""}</head>
<body>
${body}
</body>
</html>
`;
}

/** The login page; `reason` is why the last attempt, or the request, was refused. */
export function renderLogin(reason?: string): string {
  return page(
    "Trustee dashboard: sign in",
    `<main class="login">
<h1>Trustee dashboard</h1>
${reason !== undefined ? `<p class="refused" id="refusal">Access refused: ${escapeHtml(reason)}</p>\n` : ""}<form method="post" action="${DASHBOARD_PATH}/login">
<label for="token">Admin token (the bearer JWT the admin API takes)</label>
<textarea id="token" name="token" rows="4" required autocomplete="off" spellcheck="false"></textarea>
<button type="submit">Sign in</button>
</form>
<p class="note">The token is kept in an HttpOnly cookie for this page only, until it expires or you sign out.</p>
</main>`,
  );
}

/** What the overview shows. */
export interface Overview {
  replica?: string;
  /** Newest first. */
  attestations?: readonly TrusteeEvent[];
  /** Newest first. */
  denials?: readonly TrusteeEvent[];
  resources: readonly string[];
  /** More resources exist than listed. */
  resourcesTruncated: boolean;
  attestationPolicies: readonly string[];
  resourcePolicies: readonly string[];
  referenceValues: readonly ReferenceValueInfo[];
  /** The admin who is signed in (token claims). */
  admin?: { sub?: string; role?: string };
  now: number;
}

/** `cpu0 affirming: executables 2, hardware 2, ...` for each appraised component. */
export function trustVectorText(e: TrusteeEvent): string {
  if (e.ear === undefined) return "";
  return Object.entries(e.ear)
    .map(
      ([name, a]) =>
        `${name} ${a.status}${
          Object.keys(a.trust_vector).length > 0
            ? `: ${Object.entries(a.trust_vector)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")}`
            : ""
        }`,
    )
    .join("; ");
}

/** Who asked, in a few words. */
export function whoText(e: TrusteeEvent): string {
  const w = e.who;
  const parts: string[] = [];
  if (w.admin !== undefined) parts.push(`admin ${w.admin.sub ?? w.admin.role ?? ""}`.trim());
  if (w.client !== undefined) parts.push(w.client);
  if (w.tee_key !== undefined) parts.push(`key ${w.tee_key.slice(0, 12)}…`);
  return parts.join(", ");
}

/** The cells of an attestation row (the live script builds the same). */
export function attestationCells(e: TrusteeEvent): string[] {
  return [
    e.time,
    e.verdict,
    e.tee ?? "",
    whoText(e),
    trustVectorText(e),
    e.failure !== undefined ? `${e.failure.code}: ${e.failure.detail}` : "",
  ];
}

/** The cells of a denial row. */
export function denialCells(e: TrusteeEvent): string[] {
  return [
    e.time,
    e.kind,
    e.action,
    e.resource ?? e.tee ?? "",
    whoText(e),
    e.failure !== undefined ? `${e.failure.code}: ${e.failure.detail}` : "",
  ];
}

function table(
  id: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  rowClass?: (i: number) => string,
): string {
  return `<table id="${id}">
<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>
<tbody>
${rows
  .map(
    (r, i) =>
      `<tr${rowClass ? ` class="${escapeHtml(rowClass(i))}"` : ""}>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`,
  )
  .join("\n")}
</tbody>
</table>`;
}

const VALUE_CHARS = 120;

/** The overview page. */
export function renderOverview(o: Overview): string {
  const eventsOff =
    '<p class="note">Events are disabled (<code>[events] enabled = false</code>).</p>';
  const attestations =
    o.attestations === undefined
      ? eventsOff
      : table(
          "attestations",
          ["time", "verdict", "TEE", "who", "trust vector", "failure"],
          o.attestations.map(attestationCells),
          (i) => o.attestations?.[i]?.verdict ?? "",
        );
  const denials =
    o.denials === undefined
      ? eventsOff
      : table(
          "denials",
          ["time", "kind", "action", "resource or TEE", "who", "reason"],
          o.denials.map(denialCells),
        );
  const rv = table(
    "reference-values",
    ["name", "expires", "state", "source", "value"],
    o.referenceValues.map((r) => {
      const v = JSON.stringify(r.value) ?? "";
      return [
        r.name,
        r.expiration,
        r.expired ? "expired" : "valid",
        r.provenance?.source ?? "",
        v.length > VALUE_CHARS ? `${v.slice(0, VALUE_CHARS - 1)}…` : v,
      ];
    }),
  );
  const who = o.admin?.sub ?? o.admin?.role;
  return page(
    "Trustee dashboard",
    `<header>
<h1>Trustee dashboard</h1>
<p class="meta">${o.replica !== undefined ? `replica ${escapeHtml(o.replica)} · ` : ""}${escapeHtml(new Date(o.now).toISOString())}${who !== undefined ? ` · signed in as ${escapeHtml(who)}` : ""} · <span id="live">live updates off</span></p>
<form method="post" action="${DASHBOARD_PATH}/logout"><button type="submit">Sign out</button></form>
</header>
<main>
<section><h2>Recent attestations</h2>
${attestations}
</section>
<section><h2>Denials</h2>
${denials}
</section>
<section><h2>Resources <span class="count">(${o.resources.length}${o.resourcesTruncated ? "+" : ""}, names only)</span></h2>
<ul id="resources">${o.resources.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>
</section>
<section><h2>Policies</h2>
<p>Attestation: <span id="attestation-policies">${escapeHtml(o.attestationPolicies.join(", ") || "(none)")}</span></p>
<p>Resource: <span id="resource-policies">${escapeHtml(o.resourcePolicies.join(", ") || "(built-in default)")}</span></p>
</section>
<section><h2>Reference values</h2>
${rv}
</section>
</main>`,
    true,
  );
}
