import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createTestDatabase, type ServiceName } from './databases';
import { readDatabaseCatalog, type ActualConstraint, type DatabaseCatalog } from './database-catalog';
import { readPrismaSchema, type ExpectedSchema, type ExpectedTable } from './prisma-model';

// Proves a migrated database is what schema.prisma says, without Prisma's
// schema engine: every table, column (type, nullability, default), primary
// key, index and foreign key the model declares exists as declared, and
// nothing exists that neither the model nor the list of SQL-only objects
// (CHECKs, exclusion constraints, partial indexes…) accounts for.

/** A constraint written only in migration SQL. */
export interface SqlOnlyConstraint {
  table: string;
  name: string;
  type: 'check' | 'exclusion' | 'unique' | 'foreign key' | 'constraint trigger';
  /** Must match pg_get_constraintdef() (a string must be contained in it). */
  definition?: string | RegExp;
}

/** An index written only in migration SQL, e.g. a partial one. */
export interface SqlOnlyIndex {
  table: string;
  name: string;
  columns: string[];
  unique?: boolean;
  /** The partial index's WHERE as pg_get_expr() prints it; omitted means not partial. */
  where?: string;
}

/** Objects that live only in migration SQL, which the check requires to exist. */
export interface SqlOnlyObjects {
  constraints?: SqlOnlyConstraint[];
  indexes?: SqlOnlyIndex[];
  extensions?: string[];
  /** Tables no model maps; `_prisma_migrations` is always allowed. */
  tables?: string[];
}

export interface SchemaDriftOptions {
  databaseUrl: string;
  schemaPath: string;
  sqlOnly?: SqlOnlyObjects;
  /** PostgreSQL schema of the tables; default public. */
  schema?: string;
}

const CONSTRAINT_TYPE: Record<string, string> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion', t: 'constraint trigger' };

const same = (a: readonly unknown[], b: readonly unknown[]) => JSON.stringify(a) === JSON.stringify(b);
const list = (columns: readonly unknown[]) => `(${columns.join(', ')})`;

function compareColumns(table: ExpectedTable, db: DatabaseCatalog, problems: string[]): void {
  const actual = db.columns.filter((c) => c.table === table.name);
  for (const column of table.columns) {
    const found = actual.find((c) => c.name === column.name);
    const where = `${table.name}.${column.name} (${table.model})`;
    if (!found) {
      problems.push(`column ${where} is missing`);
      continue;
    }
    if (found.type !== column.type) problems.push(`column ${where} is ${found.type}, schema.prisma says ${column.type}`);
    if (found.notNull !== column.notNull) problems.push(`column ${where} is ${found.notNull ? 'NOT NULL' : 'nullable'}, schema.prisma says ${column.notNull ? 'NOT NULL' : 'nullable'}`);
    if (!column.defaults && found.default !== null) problems.push(`column ${where} has DEFAULT ${found.default}, schema.prisma declares none`);
    if (column.defaults && found.default === null) problems.push(`column ${where} has no DEFAULT, schema.prisma declares one`);
    if (column.defaults && found.default !== null && !column.defaults.some((d) => (typeof d === 'string' ? d === found.default : d.test(found.default!)))) {
      problems.push(`column ${where} has DEFAULT ${found.default}, schema.prisma says ${column.defaults.join(' or ')}`);
    }
  }
  for (const extra of actual.filter((c) => !table.columns.some((e) => e.name === c.name))) {
    problems.push(`column ${table.name}.${extra.name} is not in schema.prisma`);
  }
}

function compareIndexes(table: ExpectedTable, db: DatabaseCatalog, problems: string[]): void {
  for (const index of table.indexes) {
    const found = db.indexes.find((i) => i.table === table.name && i.name === index.name);
    const what = `${index.kind === 'primary' ? 'primary key' : `${index.kind} index`} ${index.name} on ${table.name}${list(index.columns)}`;
    if (!found) {
      problems.push(`${what} is missing`);
      continue;
    }
    if (!same(found.columns, index.columns)) problems.push(`${what} covers ${list(found.columns)}`);
    if (found.primary !== (index.kind === 'primary')) problems.push(`${what} is ${found.primary ? '' : 'not '}a primary key`);
    if (found.unique !== (index.kind !== 'normal')) problems.push(`${what} is ${found.unique ? '' : 'not '}unique`);
    if (found.predicate !== null) problems.push(`${what} is partial (WHERE ${found.predicate})`);
    if (found.method !== index.method) problems.push(`${what} uses ${found.method}, not ${index.method}`);
  }
}

function compareForeignKeys(table: ExpectedTable, db: DatabaseCatalog, problems: string[]): void {
  const actual = db.constraints.filter((c) => c.table === table.name && c.type === 'f');
  for (const fk of table.foreignKeys) {
    const what = `foreign key ${table.name}${list(fk.columns)} → ${fk.referencedTable}${list(fk.referencedColumns)}`;
    const found = actual.find((c) => same(c.columns, fk.columns) && c.referencedTable === fk.referencedTable);
    if (!found) {
      problems.push(`${what} is missing`);
      continue;
    }
    if (!same(found.referencedColumns, fk.referencedColumns)) problems.push(`${what} references ${list(found.referencedColumns)}`);
    if (found.onDelete !== fk.onDelete) problems.push(`${what} is ON DELETE ${found.onDelete}, schema.prisma says ${fk.onDelete}`);
    if (found.onUpdate !== fk.onUpdate) problems.push(`${what} is ON UPDATE ${found.onUpdate}, schema.prisma says ${fk.onUpdate}`);
  }
}

function compareEnums(expected: ExpectedSchema, db: DatabaseCatalog, problems: string[]): void {
  for (const e of expected.enums) {
    const found = db.enums.find((x) => x.name === e.name);
    if (!found) problems.push(`enum ${e.name} is missing`);
    else if (!same(found.values, e.values)) problems.push(`enum ${e.name} has values ${list(found.values)}, schema.prisma says ${list(e.values)}`);
  }
  for (const extra of db.enums.filter((x) => !expected.enums.some((e) => e.name === x.name))) {
    problems.push(`enum ${extra.name} is not in schema.prisma`);
  }
}

function compareSqlOnly(sqlOnly: SqlOnlyObjects, db: DatabaseCatalog, problems: string[]): void {
  for (const c of sqlOnly.constraints ?? []) {
    const found = db.constraints.find((x) => x.table === c.table && x.name === c.name);
    if (!found) problems.push(`${c.type} constraint ${c.name} on ${c.table} is missing`);
    else if (CONSTRAINT_TYPE[found.type] !== c.type) problems.push(`constraint ${c.name} on ${c.table} is a ${CONSTRAINT_TYPE[found.type]}, not a ${c.type}`);
    else if (c.definition && !(typeof c.definition === 'string' ? found.definition.includes(c.definition) : c.definition.test(found.definition))) {
      problems.push(`${c.type} constraint ${c.name} on ${c.table} is ${found.definition}`);
    }
  }
  for (const i of sqlOnly.indexes ?? []) {
    const found = db.indexes.find((x) => x.table === i.table && x.name === i.name);
    const what = `index ${i.name} on ${i.table}${list(i.columns)}`;
    if (!found) problems.push(`${what} is missing`);
    else {
      if (!same(found.columns, i.columns)) problems.push(`${what} covers ${list(found.columns)}`);
      if (found.unique !== (i.unique ?? false)) problems.push(`${what} is ${found.unique ? '' : 'not '}unique`);
      if (found.predicate !== (i.where ?? null)) problems.push(`${what} has WHERE ${found.predicate ?? '(none)'}, expected ${i.where ?? '(none)'}`);
    }
  }
  for (const ext of sqlOnly.extensions ?? []) if (!db.extensions.includes(ext)) problems.push(`extension ${ext} is missing`);
}

/** Objects in the database that neither schema.prisma nor the SQL-only list accounts for. */
function reportUnknown(expected: ExpectedSchema, sqlOnly: SqlOnlyObjects, db: DatabaseCatalog, problems: string[]): void {
  const known = new Set(['_prisma_migrations', ...expected.tables.map((t) => t.name), ...(sqlOnly.tables ?? [])]);
  for (const t of db.tables.filter((x) => !known.has(x.name))) problems.push(`table ${t.name} is not in schema.prisma`);

  const modelTables = new Set(expected.tables.map((t) => t.name));
  const isKnownConstraint = (c: ActualConstraint) => {
    const table = expected.tables.find((t) => t.name === c.table)!;
    if (c.type === 'p') return table.indexes.some((i) => i.kind === 'primary' && i.name === c.name);
    if (c.type === 'f') return table.foreignKeys.some((fk) => same(fk.columns, c.columns) && fk.referencedTable === c.referencedTable);
    return (sqlOnly.constraints ?? []).some((x) => x.table === c.table && x.name === c.name);
  };
  const constraints = db.constraints.filter((c) => modelTables.has(c.table));
  for (const c of constraints.filter((x) => !isKnownConstraint(x))) {
    problems.push(`${CONSTRAINT_TYPE[c.type] ?? c.type} constraint ${c.name} on ${c.table} is not in schema.prisma nor listed as SQL-only: ${c.definition}`);
  }
  const backingIndexes = new Set(constraints.map((c) => c.index).filter(Boolean));
  for (const i of db.indexes.filter((x) => modelTables.has(x.table))) {
    const declared = expected.tables.some((t) => t.indexes.some((x) => x.name === i.name)) || (sqlOnly.indexes ?? []).some((x) => x.name === i.name);
    if (!declared && !backingIndexes.has(i.name)) problems.push(`index ${i.name} on ${i.table} is not in schema.prisma nor listed as SQL-only: ${i.definition}`);
  }
}

/** Every difference between the database at `databaseUrl` and `schemaPath` (plus the SQL-only objects); empty when none. */
export async function findSchemaDrift(options: SchemaDriftOptions): Promise<string[]> {
  const sqlOnly = options.sqlOnly ?? {};
  const [expected, db] = await Promise.all([readPrismaSchema(options.schemaPath), readDatabaseCatalog(options.databaseUrl, options.schema)]);
  const problems: string[] = [];
  for (const table of expected.tables) {
    if (!db.tables.some((t) => t.name === table.name && (t.kind === 'r' || t.kind === 'p'))) {
      problems.push(`table ${table.name} (model ${table.model}) is missing`);
      continue;
    }
    compareColumns(table, db, problems);
    compareIndexes(table, db, problems);
    compareForeignKeys(table, db, problems);
  }
  compareEnums(expected, db, problems);
  compareSqlOnly(sqlOnly, db, problems);
  reportUnknown(expected, sqlOnly, db, problems);
  return problems;
}

/** Asserts (vitest) that the database matches schema.prisma and has the SQL-only objects, listing every difference. */
export async function expectNoSchemaDrift(options: SchemaDriftOptions): Promise<void> {
  expect(await findSchemaDrift(options), `drift between ${options.schemaPath} and the migrated database`).toEqual([]);
}

/** Clones `service`'s migrated template and asserts it matches prisma/<service>/schema.prisma plus `sqlOnly`. */
export async function expectServiceSchemaMatchesPrisma(service: ServiceName, sqlOnly: SqlOnlyObjects): Promise<void> {
  const db = await createTestDatabase(service);
  try {
    const schemaPath = fileURLToPath(new URL(`../../../prisma/${service}/schema.prisma`, import.meta.url));
    await expectNoSchemaDrift({ databaseUrl: db.url, schemaPath, sqlOnly });
  } finally {
    await db.drop();
  }
}
