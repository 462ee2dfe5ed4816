import { status } from '@grpc/grpc-js';

// What a fuzz run exercised (RPC × mutation kind, and the statuses it got
// back) and what it found, printed as plain-text tables.

/** One way a service misbehaved on one mutated request. */
export interface Finding {
  rpc: string;
  kind: string;
  problem: string;
  field: string;
  value: string;
  code: status;
  details: string;
  replyBytes: number;
}

const problemClass = (problem: string) => problem.replace(/\d+ bytes.*/, '> 16 KB');

/** Counts of cases sent per RPC and kind, statuses per kind, and findings grouped by (RPC, kind, problem). */
export class FuzzTally {
  private readonly sentCounts = new Map<string, number>();
  private readonly unsendableCounts = new Map<string, number>();
  private readonly statuses = new Map<string, Map<string, number>>();
  private readonly kinds = new Set<string>();
  readonly findings = new Map<string, Finding & { count: number; largestReply: number }>();

  constructor(private readonly rpcs: string[]) {}

  /** A case sent to `rpc` that got `code`. */
  sent(rpc: string, kind: string, code: status): void {
    this.kinds.add(kind);
    bump(this.sentCounts, `${rpc}|${kind}`);
    if (!this.statuses.has(kind)) this.statuses.set(kind, new Map());
    bump(this.statuses.get(kind)!, status[code] ?? String(code));
  }

  /** A case the client's encoder refused (e.g. an int32 of 2^32): nothing was sent. */
  unsendable(rpc: string, kind: string): void {
    this.kinds.add(kind);
    bump(this.unsendableCounts, `${rpc}|${kind}`);
  }

  /** Records a finding; the first example of each (RPC, kind, problem) is kept. */
  finding(f: Finding): void {
    const key = `${f.rpc}|${f.kind}|${problemClass(f.problem)}`;
    const known = this.findings.get(key);
    if (known) {
      known.count++;
      known.largestReply = Math.max(known.largestReply, f.replyBytes);
    } else this.findings.set(key, { ...f, count: 1, largestReply: f.replyBytes });
  }

  /** The coverage table, the statuses per kind, and the findings. */
  summary(seed: number): string {
    const kinds = [...this.kinds].sort();
    const cell = (rpc: string, kind: string) => {
      const sent = this.sentCounts.get(`${rpc}|${kind}`) ?? 0;
      const unsendable = this.unsendableCounts.get(`${rpc}|${kind}`) ?? 0;
      return sent || unsendable ? `${sent}${unsendable ? `+${unsendable}u` : ''}` : '-';
    };
    const coverage = table(['RPC', ...kinds], this.rpcs.map((rpc) => [rpc, ...kinds.map((k) => cell(rpc, k))]));
    const statusRows = kinds.map((k) => [k, [...(this.statuses.get(k) ?? new Map())].map(([s, n]) => `${s} ${n}`).join(', ')]);
    const findingRows = [...this.findings.values()].map((f) => [f.rpc, f.kind, problemClass(f.problem), String(f.count), `${f.field} = ${f.value}`, `${status[f.code]} ${f.details}`]);
    return [
      `fuzz summary (seed ${seed}): cases sent per RPC × mutation kind ("+Nu": N more the client could not encode)`,
      coverage,
      'statuses per mutation kind',
      table(['kind', 'statuses'], statusRows),
      ...(this.findings.size ? [`findings (${this.findings.size} distinct)`, table(['RPC', 'kind', 'problem', 'count', 'first example', 'reply'], findingRows)] : []),
    ].join('\n');
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.min(120, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => c.slice(0, widths[i]).padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
