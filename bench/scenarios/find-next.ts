import * as catalogApi from '@carebook/proto/catalog';
import { catalogClients, closeAll } from '../clients';
import { pick, type BenchContext, type ScenarioResult } from '../context';
import { runClosedLoop } from '../load';
import { measure, scenarioFigures } from '../measure';
import { outcomeOf } from '../outcome';
import { randomWindow } from '../windows';
import { rawNextAvailable } from '../baselines';

type Dynamic = Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
interface PartialBuilder {
  fromPartial(value: Record<string, unknown>): unknown;
}

/**
 * Scenario 2: FindNextAvailable, if this build of catalog has it: the
 * generated client is asked at run time, so the harness works before and
 * after the method exists.
 */
export async function findNextScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const title = 'FindNextAvailable (random specialty, 20 doctors)';
  const probe = catalogApi.createCatalogClient(ctx.services.catalog.address) as unknown as Dynamic & { close(): void };
  const available = typeof probe.findNextAvailable === 'function';
  probe.close();
  const builder = (catalogApi as unknown as Record<string, PartialBuilder | undefined>).FindNextAvailableRequest;
  if (!available || !builder) {
    return { name: 'find-next', title, skipped: 'the generated catalog client has no findNextAvailable', failures: [] };
  }
  const baselineRun = rawNextAvailable(ctx);
  const baseline = baselineRun ? await baselineRun : undefined;
  const { concurrency, durationMs, warmupMs } = ctx.options;
  const clients = (await catalogClients(ctx.services.catalog.address, concurrency)) as unknown as Dynamic[];
  let empty = 0;
  try {
    const m = await measure(ctx, () =>
      runClosedLoop({ concurrency, durationMs, warmupMs }, (w) => {
        const { from } = randomWindow(ctx.dataset.shape, 7);
        const request = builder.fromPartial({ specialty: pick(ctx.specialties), after: from, limit: 20 });
        return outcomeOf(async () => {
          const response = (await clients[w].findNextAvailable!(request)) as { slots?: unknown[] };
          if (!response.slots?.length) empty++;
        });
      }),
    );
    return {
      name: 'find-next',
      title,
      ...scenarioFigures('find-next', m, baseline),
      baseline: baseline && {
        name: 'raw next-available SELECT',
        description: "catalog's next-available statement straight on PostgreSQL, one connection per client",
        result: baseline,
      },
      extra: { emptyAnswers: empty },
    };
  } finally {
    closeAll(clients as unknown as Array<{ close(): void }>);
  }
}
