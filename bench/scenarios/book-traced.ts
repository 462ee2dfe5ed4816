import { bookingClients, closeAll } from '../clients';
import { pick, type BenchContext, type ScenarioResult } from '../context';
import { runClosedLoop } from '../load';
import { measure, scenarioFigures } from '../measure';
import { startCollectorStub } from '../otlp-collector-stub';
import { startServices } from '../services';
import { ratio } from '../stats';
import { book } from './book';

/**
 * The book scenario against a second catalog and booking, on the same
 * databases, started with tracing on (every call sampled, OTLP/HTTP protobuf
 * to a collector stub in this process that counts spans and drops them). The
 * run's untraced book scenario is its baseline (relateToUntraced).
 */
export async function bookTracedScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const collector = await startCollectorStub();
  try {
    const services = await startServices({
      catalogUrl: ctx.catalogUrl,
      bookingUrl: ctx.bookingUrl,
      pool: ctx.options.pool,
      catalogTimeoutMs: ctx.options.smoke ? 15_000 : undefined,
      env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    });
    const traced = { ...ctx, services };
    const { concurrency, durationMs, warmupMs } = ctx.options;
    let m;
    // Every booking made, warm-up included: all of them are traced.
    let bookings = 0;
    const clients = await bookingClients(services.booking.address, concurrency);
    try {
      m = await measure(traced, () =>
        runClosedLoop({ concurrency, durationMs, warmupMs }, async (w) => {
          const slotId = ctx.slots.next();
          if (!slotId) return undefined;
          bookings++;
          return book(ctx, clients[w], slotId, pick(ctx.patients), ctx.booked);
        }),
      );
    } finally {
      closeAll(clients);
      // SIGTERM: each service flushes its last batch of spans before it exits.
      await services.stop();
    }
    return {
      name: 'book-traced',
      title: 'BookAppointment, tracing on (OTLP to a stub collector)',
      ...scenarioFigures('book-traced', m, undefined),
      extra: {
        spansReceived: collector.spans(),
        exportRequests: collector.requests(),
        bookings,
        spansPerBooking: bookings ? ratio(collector.spans(), bookings) : null,
      },
    };
  } finally {
    await collector.close();
  }
}

/** Sets the untraced book scenario of the same run as book-traced's baseline: its throughput and p99 ratios are tracing's cost. */
export function relateToUntraced(scenarios: ScenarioResult[]): void {
  const traced = scenarios.find((s) => s.name === 'book-traced' && s.result);
  const untraced = scenarios.find((s) => s.name === 'book' && s.result);
  if (!traced?.result || !untraced?.result) return;
  traced.baseline = { name: 'book, tracing off', description: 'the book scenario of this run, services untraced', result: untraced.result };
  traced.throughputRatio = ratio(traced.result.throughput, untraced.result.throughput);
  traced.p99Ratio = ratio(traced.result.latencyMs.p99, untraced.result.latencyMs.p99);
}
