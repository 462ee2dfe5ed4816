// The span of one send job, through @opentelemetry/api only (a no-op until
// main.ts starts tracing). A job starts from graphile-worker's poll, not from
// a call, so its span is the root of a trace: the lookups' CLIENT spans to
// booking and catalog (delivery/lookups.ts), and those services' own spans
// below them, are its children.
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { SEND_TASK } from '../notifications/statements';
import type { SendResult } from './send-notification';

const TRACER_NAME = '@carebook/notifications';
/** The rows (one per channel) of the message the job is about: ids, as the logs carry; never a recipient. */
export const ATTR_NOTIFICATION_IDS = 'carebook.notification.ids';
/** How the job ended for each row it still found SCHEDULED (SendResult): sent, skipped, retry, failed or not-scheduled. */
export const ATTR_SEND_OUTCOMES = 'carebook.notification.outcomes';

// Outcomes that mean a try failed: the span's status says so, the others end it unset.
const FAILED_TRIES = new Set<SendResult>(['retry', 'failed']);

/** Runs the send job of the rows `notificationIds` inside a new root span named after the task. */
export async function inSendSpan(notificationIds: readonly string[], send: () => Promise<SendResult[]>): Promise<SendResult[]> {
  // Looked up on every job, not kept: a tracer taken from one provider would outlive its shutdown (tests).
  const span = trace.getTracer(TRACER_NAME).startSpan(SEND_TASK, { kind: SpanKind.CONSUMER, root: true, attributes: { [ATTR_NOTIFICATION_IDS]: [...notificationIds] } });
  try {
    const results = await context.with(trace.setSpan(ROOT_CONTEXT, span), send);
    span.setAttribute(ATTR_SEND_OUTCOMES, results);
    if (results.some((result) => FAILED_TRIES.has(result))) span.setStatus({ code: SpanStatusCode.ERROR });
    return results;
  } catch (err) {
    span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'unknown');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}
