/**
 * Prometheus counters at `GET /metrics`, named as upstream KBS names them
 * (kbs/src/prometheus), in the text exposition format. Per process. `/metrics` needs no
 * authentication (scrapers rarely have any), so unlike upstream the resource counters carry
 * no `resource_path` label: the names of secrets are not public.
 */

/** Counter names this KBS maintains, with their help text. */
export const METRICS = {
  kbs_http_requests_total: "Total HTTP requests count",
  kbs_auth_requests_total: "Total count of auth requests",
  kbs_auth_successes_total: "Total count of successfully authenticated requests",
  kbs_auth_errors_total: "Total count of errors during auth",
  kbs_attestation_requests_total: "Total count of attestation requests",
  kbs_attestation_successes_total: "Total count of attestation successes",
  kbs_attestation_failures_total: "Total count of attestation failures",
  kbs_policy_evaluations_total: "Total count of KBS policy evaluations",
  kbs_policy_approvals_total: "Total count of requests approved by KBS policy",
  kbs_policy_violations_total: "Total count of requests denied by KBS policy",
  kbs_policy_errors_total: "Total count of errors during KBS evaluation",
  kbs_resource_reads_total: "KBS resource read count",
  kbs_resource_writes_total: "KBS resource write count",
  kbs_resource_deletes_total: "KBS resource delete count",
} as const;

/** One of {@link METRICS}. */
export type MetricName = keyof typeof METRICS;

/** The counters. */
export interface Metrics {
  inc(name: MetricName, labels?: Record<string, string>): void;
  /** Prometheus text exposition (format 0.0.4). */
  render(): string;
}

const MAX_SERIES = 10_000;

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Creates an empty set of counters. */
export function createMetrics(): Metrics {
  const series = new Map<string, number>();
  return {
    inc(name, labels) {
      const l = labels
        ? `{${Object.entries(labels)
            .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
            .join(",")}}`
        : "";
      const key = `${name}${l}`;
      if (!series.has(key) && series.size >= MAX_SERIES) return;
      series.set(key, (series.get(key) ?? 0) + 1);
    },
    render() {
      const lines: string[] = [];
      for (const [name, help] of Object.entries(METRICS)) {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
        let any = false;
        for (const [key, v] of series) {
          if (key === name || key.startsWith(`${name}{`)) {
            lines.push(`${key} ${v}`);
            any = true;
          }
        }
        if (
          !any &&
          !["kbs_attestation_successes_total", "kbs_attestation_failures_total"].includes(name)
        ) {
          lines.push(`${name} 0`);
        }
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
