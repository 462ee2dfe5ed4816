// The reminders scenario's baseline: nodemailer's pooled SMTP transport
// sending the same e-mails straight from `concurrency` loops, with nothing
// else around it (no queue, no database, no lookups). It runs as its own
// process, as notifications does, so that it does not share an event loop
// with the sink in the load generator. Given its job as JSON in argv[2], it
// prints one line of JSON with what it did.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTransport } from 'nodemailer';
import type { MessageFacts } from '../apps/notifications/src/messages/facts';
import { messageIdOf } from '../apps/notifications/src/messages/message-id';
import { renderMessage } from '../apps/notifications/src/messages/render';

/** What the baseline sends: `count` reminders like the service's, to `recipient(i)`, each with its own Message-ID. */
export interface BaselineJob {
  smtpUrl: string;
  count: number;
  concurrency: number;
  from: string;
  /** `{i}` in it is replaced by the message's number. */
  recipientPattern: string;
  /** The facts of one of the scenario's reminders; each message gets its own appointment id and patient name. */
  facts: Omit<MessageFacts, 'appointmentId' | 'patientName' | 'startTime'> & { startTime: string };
  reminderOffsetMs: number;
}

export interface BaselineRun {
  /** Epoch ms just before the first message was handed to nodemailer. */
  startedAt: number;
  finishedAt: number;
  sent: number;
  errors: Record<string, number>;
  /** CPU of the sending process over the sends, in ms. */
  cpuMs: number;
}

/** The Message-IDs of the baseline's messages begin with this (the sink tells them apart by it). */
export const BASELINE_ID_PREFIX = '<baseline-';

async function send(job: BaselineJob): Promise<BaselineRun> {
  const transport = createTransport({ url: job.smtpUrl, pool: true, maxConnections: job.concurrency });
  const errors: Record<string, number> = {};
  let next = 0;
  let sent = 0;
  const loop = async () => {
    for (let i = next++; i < job.count; i = next++) {
      const appointmentId = `baseline-${i}`;
      const facts: MessageFacts = { ...job.facts, appointmentId, patientName: `Reminder Patient ${i}`, startTime: new Date(job.facts.startTime), kind: 'reminder' };
      const { subject, text } = renderMessage(facts, 'email');
      try {
        await transport.sendMail({
          from: job.from,
          to: job.recipientPattern.replace('{i}', String(i)),
          subject,
          text,
          messageId: messageIdOf(appointmentId, 'reminder', 'email', job.reminderOffsetMs),
        });
        sent++;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'error';
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  };
  const cpu0 = process.cpuUsage();
  const startedAt = performance.timeOrigin + performance.now();
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  const finishedAt = performance.timeOrigin + performance.now();
  const cpu = process.cpuUsage(cpu0);
  transport.close();
  return { startedAt, finishedAt, sent, errors, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Runs `job` in a child process (this file under tsx) and returns its figures. */
export async function runSmtpBaseline(job: BaselineJob): Promise<BaselineRun> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.trim().split('\n').pop();
  if (code !== 0 || !line) throw new Error(`the nodemailer baseline exited with ${code}: ${err.slice(0, 500)}`);
  return JSON.parse(line) as BaselineRun;
}

if (process.argv[1]?.endsWith('smtp-baseline.ts')) {
  send(JSON.parse(process.argv[2]) as BaselineJob).then(
    (run) => process.stdout.write(`${JSON.stringify(run)}\n`),
    (err) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
