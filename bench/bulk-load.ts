import pg from 'pg';

/** A constraint or index of a table, as the database would recreate it. */
interface Deferred {
  kind: 'constraint' | 'index';
  name: string;
  /** 'p', 'u', 'f' for constraints. */
  type?: string;
  definition: string;
}

/**
 * The keys, exclusion constraints, foreign keys and indexes of `table`, read
 * from the catalog (pg_get_constraintdef, pg_get_indexdef), so that whatever
 * migrations added is put back exactly as it was. CHECK and NOT NULL stay in
 * place: they cost little per row. A primary or unique key that another
 * table's foreign key depends on stays in place too.
 */
async function deferrable(client: pg.Client, table: string): Promise<Deferred[]> {
  // Exclusion constraints stay: a GiST index over ranges has no sorted build,
  // and its buffered build is slower than inserting rows in order into it.
  const constraints = await client.query<{ name: string; type: string; definition: string; referenced: boolean }>(
    `SELECT c.conname AS name, c.contype AS type, pg_get_constraintdef(c.oid) AS definition,
            EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid AND f.conrelid <> c.conrelid) AS referenced
     FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'f')`,
    [table],
  );
  const indexes = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
     FROM pg_index i WHERE i.indrelid = $1::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)`,
    [table],
  );
  return [
    ...constraints.rows.filter((c) => !c.referenced).map((c) => ({ kind: 'constraint' as const, name: c.name, type: c.type, definition: c.definition })),
    ...indexes.rows.map((i) => ({ kind: 'index' as const, name: i.name, definition: i.definition })),
  ];
}

/** One step of restoring a table's keys and indexes, for the progress bar. */
export interface RestoreStep {
  name: string;
  run(client: pg.Client): Promise<void>;
}

/**
 * Drops the keys, foreign keys and plain indexes of `table`
 * (which should be empty) and returns the steps that put them back: a bulk
 * load then writes bare heap pages and each index is built once, sorted,
 * instead of being updated row by row. Foreign keys come back last, each
 * validated by one join over the loaded rows. Recreating checks every row,
 * so the loaded data satisfies the real constraints.
 */
export async function deferKeysAndIndexes(client: pg.Client, table: string): Promise<{ first: RestoreStep[]; then: RestoreStep[]; last: RestoreStep[] }> {
  const items = await deferrable(client, table);
  const id = pg.escapeIdentifier(table);
  // Foreign keys first (a self-reference depends on the primary key).
  for (const c of items.filter((i) => i.type === 'f')) await client.query(`ALTER TABLE ${id} DROP CONSTRAINT ${pg.escapeIdentifier(c.name)}`);
  for (const c of items.filter((i) => i.kind === 'constraint' && i.type !== 'f')) {
    await client.query(`ALTER TABLE ${id} DROP CONSTRAINT ${pg.escapeIdentifier(c.name)}`);
  }
  for (const i of items.filter((i) => i.kind === 'index')) await client.query(`DROP INDEX ${i.name}`);
  const addConstraint = (c: Deferred): RestoreStep => ({
    name: c.name,
    run: async (cl) => void (await cl.query(`ALTER TABLE ${id} ADD CONSTRAINT ${pg.escapeIdentifier(c.name)} ${c.definition}`)),
  });
  return {
    // Primary and unique keys before anything that may reference them.
    first: items.filter((i) => i.type === 'p' || i.type === 'u').map(addConstraint),
    // CREATE INDEX statements on one table may run side by side.
    then: items.filter((i) => i.kind === 'index').map((i) => ({ name: i.name, run: async (cl: pg.Client) => void (await cl.query(i.definition)) })),
    last: items.filter((i) => i.type === 'f').map(addConstraint),
  };
}

/** Runs `tasks` on `parallelism` connections at a time. */
export async function runParallel<T>(clients: pg.Client[], tasks: T[], run: (client: pg.Client, task: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < tasks.length) {
        const task = tasks[next++];
        await run(client, task);
      }
    }),
  );
}
