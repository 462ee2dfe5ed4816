import { SearchSlotsRequest } from '@carebook/proto/catalog';
import { catalogClients, closeAll } from '../clients';
import { pick, type BenchContext, type ScenarioResult } from '../context';
import { runClosedLoop } from '../load';
import { measure, scenarioFigures } from '../measure';
import { outcomeOf } from '../outcome';
import { ratio } from '../stats';
import { randomWindow } from '../windows';
import { rawSearch } from '../baselines';
import { searchSql } from '../sql-of-repo';

const PAGE_SIZE = 50;

/** SearchSlots at `address`: a random specialty, a 7-day window, 50 per page; each client on its own channel. */
export async function searchLoad(ctx: BenchContext, address: string) {
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const clients = await catalogClients(address, concurrency);
  let empty = 0;
  try {
    const result = await runClosedLoop({ concurrency, durationMs, warmupMs }, (w) => {
      const { from, to } = randomWindow(ctx.dataset.shape, 7);
      return outcomeOf(async () => {
        const page = await clients[w].searchSlots(
          SearchSlotsRequest.fromPartial({ specialty: pick(ctx.specialties), startTimeFrom: from, startTimeTo: to, pageSize: PAGE_SIZE }),
        );
        if (page.slots.length === 0) empty++;
      });
    });
    return { result, empty };
  } finally {
    closeAll(clients);
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the search for the most and the least common
 * specialty, over the same 7 days two weeks ahead: how a page is found, and
 * what it costs, for the report.
 */
async function searchPlans(ctx: BenchContext): Promise<Record<string, string>> {
  const { rows } = await ctx.catalogSql.query<{ specialty: string }>(`SELECT specialty FROM doctor GROUP BY specialty ORDER BY count(*) DESC, specialty`);
  const from = new Date(Date.parse(`${ctx.dataset.shape.baseDate}T00:00:00Z`) + 14 * 86_400_000);
  const to = new Date(+from + 7 * 86_400_000);
  const plans: Record<string, string> = {};
  for (const specialty of [rows[0]?.specialty, rows[rows.length - 1]?.specialty].filter(Boolean)) {
    const statement = searchSql({ specialty, from, to }, PAGE_SIZE);
    const plan = await ctx.catalogSql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
    plans[specialty] = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
  }
  return plans;
}

/** Scenario 1: SearchSlots against the raw search SELECT at the same concurrency. */
export async function searchScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const baseline = await rawSearch(ctx);
  // The same statement unprepared: what the baseline was before catalog prepared its statements.
  const unprepared = await rawSearch(ctx, ctx.catalogUrl, false);
  let empty = 0;
  const m = await measure(ctx, async () => {
    const run = await searchLoad(ctx, ctx.services.catalog.address);
    empty = run.empty;
    return run.result;
  });
  return {
    name: 'search',
    title: 'SearchSlots (random specialty, 7 days, 50 per page)',
    ...scenarioFigures('search', m, baseline),
    baseline: { name: 'raw search SELECT', description: "catalog's search statement straight on PostgreSQL, one connection per client", result: baseline },
    extra: {
      emptyPages: empty,
      unpreparedBaseline: { throughput: unprepared.throughput, p99Ms: unprepared.latencyMs.p99, ratio: ratio(m.result.throughput, unprepared.throughput) },
      plans: await searchPlans(ctx),
    },
  };
}
