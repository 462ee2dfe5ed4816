import fc from 'fast-check';
import { status, type Client, type Metadata } from '@grpc/grpc-js';
import type pg from 'pg';
import { changedTables, fingerprintAll } from './fingerprint';
import { buildCase, eligibleFields, MUTATION_KINDS, mutationDraw, preview, type MessageCodec, type MutationDraw, type MutationKind } from './mutations';
import { callRaw, callRawStream, codecOf, createRawClient, type RawReply } from './raw-call';
import { FuzzTally, type Finding } from './tally';
import type { FuzzSettings } from './settings';

/** One RPC under fuzz: where it is, how its request encodes, a valid request, and the metadata to send. */
export interface FuzzTarget {
  rpc: string;
  path: string;
  codec: MessageCodec<object>;
  /** A request the service accepts, built from the test's fixtures. */
  valid(): object;
  /** Metadata of every call, e.g. a bearer token; none by default. */
  metadata?(): Metadata;
  /** A server-streaming method: sent with callRawStream, ended by the caller once it streams. */
  stream?: boolean;
}

export interface FuzzRun {
  /** host:port of the service under fuzz. */
  address: string;
  targets: FuzzTarget[];
  /** Every database the services write, by name: refused calls must leave them all unchanged. */
  databases: Record<string, pg.Pool>;
  settings: FuzzSettings;
  /** Tables ("db.table") that a refusal may change by design, given the RPC and its reply. */
  writesOnRefusal?(rpc: string, reply: RawReply): string[];
}

/** The fuzz target of one method of a grpc-js service definition (e.g. CatalogServiceService.claimSlot); unary or server-streaming. */
export function fuzzTarget<T extends object>(
  method: { path: string; responseStream?: boolean; requestSerialize(value: T): Buffer },
  valid: () => T,
  metadata?: () => Metadata,
): FuzzTarget {
  return { rpc: method.path.split('/').pop()!, path: method.path, codec: codecOf(method) as MessageCodec<object>, valid, metadata, stream: method.responseStream === true };
}

/** Sends `bytes` to `target` as its kind of call: unary, or a server stream ended once it streams. */
export function callTarget(client: Client, target: FuzzTarget, bytes: Uint8Array, metadata?: Metadata, deadlineMs?: number): Promise<RawReply> {
  return target.stream ? callRawStream(client, target.path, bytes, metadata, deadlineMs) : callRaw(client, target.path, bytes, metadata, deadlineMs);
}

/** A whole reply, status message and metadata included, must stay under this. */
export const MAX_FUZZ_REPLY_BYTES = 16 * 1024;
const FORBIDDEN = new Set([status.INTERNAL, status.UNKNOWN]);

interface Plan {
  target: FuzzTarget;
  kind: MutationKind;
}

/** Every (RPC, mutation kind) pair where the kind has a field of the RPC's valid request to act on. */
function plansOf(targets: FuzzTarget[]): Map<string, Plan> {
  const plans = new Map<string, Plan>();
  for (const target of targets) {
    for (const kind of Object.keys(MUTATION_KINDS) as MutationKind[]) {
      if (eligibleFields(kind, target.valid(), target.codec).length > 0) plans.set(`${target.rpc} × ${kind}`, { target, kind });
    }
  }
  return plans;
}

/** What is wrong with a reply: a forbidden status, an oversized reply, or a write behind a refusal. */
async function problemsOf(run: FuzzRun, rpc: string, reply: RawReply, before: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  if (reply.transportFailure) problems.push(`reply broke the client's HTTP/2 stream (oversized headers?)`);
  else if (FORBIDDEN.has(reply.code)) problems.push(`status ${status[reply.code]}`);
  if (reply.replyBytes > MAX_FUZZ_REPLY_BYTES) problems.push(`reply of ${reply.replyBytes} bytes (status details ${reply.statusDetailsBytes})`);
  if (reply.code !== status.OK) {
    const allowed = new Set(run.writesOnRefusal?.(rpc, reply) ?? []);
    const changed = changedTables(before, await fingerprintAll(run.databases)).filter((t) => !allowed.has(t));
    if (changed.length > 0) problems.push(`wrote ${changed.join(', ')} though refused`);
  }
  return problems;
}

/** The raw client of a run, replaced after a reply broke its HTTP/2 session, so the break is not blamed on the next case. */
class RawConnection {
  private client: Client;
  constructor(private readonly address: string) {
    this.client = createRawClient(address);
  }
  async call(target: FuzzTarget, bytes: Uint8Array, metadata: Metadata | undefined, deadlineMs: number): Promise<RawReply> {
    const reply = await callTarget(this.client, target, bytes, metadata, deadlineMs);
    if (reply.transportFailure) {
      this.client.close();
      this.client = createRawClient(this.address);
    }
    return reply;
  }
  close(): void {
    this.client.close();
  }
}

/** Runs one fuzz case; returns the findings, empty if the service behaved. */
async function fuzzCase(run: FuzzRun, connection: RawConnection, plan: Plan, draw: MutationDraw, tally: FuzzTally): Promise<Finding[]> {
  const { target, kind } = plan;
  const request = target.valid();
  const built = buildCase(kind, request, target.codec, eligibleFields(kind, request, target.codec), draw);
  if ('unsendable' in built) {
    tally.unsendable(target.rpc, kind);
    return [];
  }
  const before = await fingerprintAll(run.databases);
  const reply = await connection.call(target, built.bytes, target.metadata?.(), run.settings.deadlineMs);
  tally.sent(target.rpc, kind, reply.code);
  const problems = await problemsOf(run, target.rpc, reply, before);
  return problems.map((problem) => ({
    rpc: target.rpc,
    kind,
    problem,
    field: built.field,
    value: built.value,
    code: reply.code,
    details: preview(reply.details, 100),
    replyBytes: reply.replyBytes,
  }));
}

const describeFinding = (f: Finding, seed: number) =>
  `${f.rpc} × ${f.kind} at ${f.field} = ${f.value}: ${f.problem} [status ${status[f.code]} ${f.details}, ${f.replyBytes} bytes] (FUZZ_SEED=${seed})`;

/**
 * Fuzzes every target with every mutation kind that applies, for the time
 * and seed of `run.settings`. Asserts (throws on the first finding, after
 * fast-check's shrinking) unless settings.report, which collects every
 * finding instead. Returns the tally, printed as a summary either way.
 */
export async function fuzzServices(run: FuzzRun): Promise<FuzzTally> {
  const plans = plansOf(run.targets);
  const tally = new FuzzTally(run.targets.map((t) => t.rpc));
  const connection = new RawConnection(run.address);
  const { seed, timeMs, numRuns, path, report } = run.settings;
  const property = fc.asyncProperty(fc.constantFrom(...plans.keys()), mutationDraw, async (label, draw) => {
    const findings = await fuzzCase(run, connection, plans.get(label)!, draw, tally);
    if (report) findings.forEach((f) => tally.finding(f));
    else if (findings.length > 0) throw new Error(findings.map((f) => describeFinding(f, seed)).join('\n'));
  });
  console.log(`fuzz: seed ${seed}, ${timeMs} ms, ${plans.size} (RPC, mutation) pairs${report ? ', report mode' : ''}`);
  try {
    await fc.assert(property, { seed, path, numRuns, interruptAfterTimeLimit: timeMs, endOnFailure: false });
  } finally {
    connection.close();
    console.log(tally.summary(seed));
  }
  return tally;
}
