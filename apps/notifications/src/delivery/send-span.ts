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
/** The message the job is about: an id, as the logs carry; never a recipient. */
export const ATTR_NOTIFICATION_ID = 'carebook.notification.id';
/** How the job ended (SendResult): sent, skipped, retry, failed or not-scheduled. */
export const ATTR_SEND_OUTCOME = 'carebook.notification.outcome';

// Outcomes that mean a try failed: the span's status says so, the others end it unset.
const FAILED_TRIES = new Set<SendResult>(['retry', 'failed']);

/** Runs the send job of `notificationId` inside a new root span named after the task. */
export async function inSendSpan(notificationId: string, send: () => Promise<SendResult>): Promise<SendResult> {
  // Looked up on every job, not kept: a tracer taken from one provider would outlive its shutdown (tests).
  const span = trace.getTracer(TRACER_NAME).startSpan(SEND_TASK, { kind: SpanKind.CONSUMER, root: true, attributes: { [ATTR_NOTIFICATION_ID]: notificationId } });
  try {
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), send);
    span.setAttribute(ATTR_SEND_OUTCOME, result);
    if (FAILED_TRIES.has(result)) span.setStatus({ code: SpanStatusCode.ERROR });
    return result;
  } catch (err) {
    span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'unknown');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}
