import type pg from 'pg';

// A fingerprint of every table of a database (row count and an md5 of every
// row's text), to prove that a refused call wrote nothing.

/** Table name → "rows:md5" of a database, in one query. */
export type DatabaseFingerprint = Record<string, string>;

const tableLists = new WeakMap<pg.Pool, Promise<string[]>>();

async function tablesOf(sql: pg.Pool): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return rows.map((r) => r.name);
}

/** The fingerprint of every table in the public schema of the database behind `sql`. */
export async function databaseFingerprint(sql: pg.Pool): Promise<DatabaseFingerprint> {
  if (!tableLists.has(sql)) tableLists.set(sql, tablesOf(sql));
  const tables = await tableLists.get(sql)!;
  // Table names come from the catalog, quoted by quote_ident: no input reaches this SQL.
  const query = tables
    .map((t) => `SELECT '${t}' AS name, count(*) || ':' || coalesce(md5(string_agg(r::text, ',' ORDER BY r::text)), '') AS print FROM ${t} r`)
    .join(' UNION ALL ');
  const { rows } = await sql.query<{ name: string; print: string }>(query);
  return Object.fromEntries(rows.map((r) => [r.name, r.print]));
}

/** The fingerprints of several databases, keyed "database.table". */
export async function fingerprintAll(databases: Record<string, pg.Pool>): Promise<DatabaseFingerprint> {
  const prints = await Promise.all(
    Object.entries(databases).map(async ([db, sql]) => Object.entries(await databaseFingerprint(sql)).map(([t, p]) => [`${db}.${t}`, p])),
  );
  return Object.fromEntries(prints.flat());
}

/** The tables whose fingerprint differs. */
export function changedTables(before: DatabaseFingerprint, after: DatabaseFingerprint): string[] {
  return Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
}
