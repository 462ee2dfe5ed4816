import { Prisma } from '../apps/catalog/src/generated/prisma/client';
import { slotsRepo } from '../apps/catalog/src/slots/repo';

/** The search filters the harness uses; the repo may accept more. */
export interface SlotSearch {
  specialty?: string;
  from: Date;
  to: Date;
}

/** A statement as catalog sends it: text with $n placeholders, and its values. */
export interface Statement {
  text: string;
  values: unknown[];
}

type Repo = ReturnType<typeof slotsRepo>;

/**
 * The SQL that catalog's slots repo would send for `call`, captured from the
 * repo itself (stand-ins for its Prisma client and its pg pool record what
 * it sends), so the raw-SQL baselines run exactly the service's statements,
 * and follow them when the repo changes.
 */
export function sqlOf(call: (repo: Repo) => Promise<unknown>, optional: true): Statement | undefined;
export function sqlOf(call: (repo: Repo) => Promise<unknown>): Statement;
export function sqlOf(call: (repo: Repo) => Promise<unknown>, optional = false): Statement | undefined {
  let captured: Statement | undefined;
  const prisma = {
    // Called as a tagged template, or with a ready Prisma.Sql.
    $queryRaw(strings: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) {
      const sql = strings instanceof Prisma.Sql ? strings : Prisma.sql(strings, ...(values as Prisma.Sql[]));
      captured = { text: sql.text, values: sql.values };
      return Promise.resolve([]);
    },
  };
  const pool = {
    query(config: { text: string; values: unknown[] }) {
      captured = { text: config.text, values: config.values };
      return Promise.resolve({ rows: [] });
    },
  };
  call(slotsRepo(prisma as unknown as Parameters<typeof slotsRepo>[0], pool as unknown as Parameters<typeof slotsRepo>[1])).catch(() => undefined);
  if (!captured && optional) return undefined;
  if (!captured) throw new Error('the slots repo sent no SQL for this call');
  return captured;
}

/** The search SELECT for a page of `pageSize` (the service asks for one row more, to know if a next page exists). */
export const searchSql = (search: SlotSearch, pageSize: number) => sqlOf((r) => r.searchOpen(search, pageSize + 1));
/** The next-available SELECT, when the repo has one (FindNextAvailable is new); undefined otherwise. */
export function nextAvailableSql(search: SlotSearch & { limit: number }): Statement | undefined {
  return sqlOf((r) => {
    const repo = r as Repo & { nextAvailable?: (s: typeof search) => Promise<unknown> };
    return repo.nextAvailable ? repo.nextAvailable(search) : Promise.reject(new Error('no nextAvailable'));
  }, true);
}
/** The conditional claim UPDATE. */
export const claimSql = (slotId: string, claimId: string, deadline: Date | undefined) => sqlOf((r) => r.claim(slotId, claimId, deadline));
/** The release UPDATE guarded by the claim. */
export const releaseSql = (slotId: string, claimId: string) => sqlOf((r) => r.release(slotId, claimId));
