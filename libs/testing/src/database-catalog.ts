import pg from 'pg';

// A snapshot of one PostgreSQL schema read from pg_catalog: what the
// schema-drift check compares with schema.prisma.

export interface ActualColumn {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface ActualIndex {
  table: string;
  name: string;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
  unique: boolean;
  primary: boolean;
  /** The WHERE of a partial index. */
  predicate: string | null;
  method: string;
  definition: string;
}

export interface ActualConstraint {
  table: string;
  name: string;
  /** pg_constraint.contype: p, u, f, c, x, t. */
  type: string;
  definition: string;
  columns: string[];
  referencedTable: string | null;
  referencedColumns: string[];
  onDelete: string | null;
  onUpdate: string | null;
  /** The index that backs a primary key, unique or exclusion constraint. */
  index: string | null;
}

export interface DatabaseCatalog {
  tables: { name: string; kind: string }[];
  columns: ActualColumn[];
  indexes: ActualIndex[];
  constraints: ActualConstraint[];
  enums: { name: string; values: string[] }[];
  extensions: string[];
}

const ACTION: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

const TABLES = `
SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`;

const COLUMNS = `
SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, a.attnum`;

const INDEXES = `
SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
       pg_get_expr(ix.indpred, ix.indrelid) AS predicate, am.amname AS method, pg_get_indexdef(ix.indexrelid) AS definition,
       ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
              WHERE k.ord <= ix.indnkeyatts ORDER BY k.ord) AS columns
  FROM pg_index ix
  JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam
 WHERE n.nspname = $1 ORDER BY 1, 2`;

const columnNames = (rel: string, keys: string) => `
  ARRAY(SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.attnum ORDER BY k.ord)`;

// contype 'n' (NOT NULL, catalogued as constraints since PostgreSQL 18) is compared as column nullability instead.
const CONSTRAINTS = `
SELECT t.relname AS table, co.conname AS name, co.contype AS type, pg_get_constraintdef(co.oid) AS definition,
       ${columnNames('co.conrelid', 'co.conkey')} AS columns,
       r.relname AS "referencedTable", ${columnNames('co.confrelid', 'co.confkey')} AS "referencedColumns",
       NULLIF(co.confdeltype, ' ') AS "onDelete", NULLIF(co.confupdtype, ' ') AS "onUpdate", i.relname AS index
  FROM pg_constraint co
  JOIN pg_class t ON t.oid = co.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_class r ON r.oid = co.confrelid LEFT JOIN pg_class i ON i.oid = co.conindid
 WHERE n.nspname = $1 AND co.contype <> 'n' ORDER BY 1, 2`;

const ENUMS = `
SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = $1 GROUP BY t.typname ORDER BY 1`;

/** Reads tables, columns, indexes, constraints and enums of `schema` in the database at `url`. */
export async function readDatabaseCatalog(url: string, schema = 'public'): Promise<DatabaseCatalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const query = async <T>(sql: string, params: unknown[] = [schema]) => (await client.query(sql, params)).rows as T[];
    const constraints = await query<ActualConstraint>(CONSTRAINTS);
    return {
      tables: await query(TABLES),
      columns: await query(COLUMNS),
      indexes: await query(INDEXES),
      constraints: constraints.map((c) => ({
        ...c,
        onDelete: c.onDelete ? ACTION[c.onDelete] : null,
        onUpdate: c.onUpdate ? ACTION[c.onUpdate] : null,
      })),
      enums: await query(ENUMS),
      extensions: (await query<{ extname: string }>('SELECT extname FROM pg_extension ORDER BY 1', [])).map((e) => e.extname),
    };
  } finally {
    await client.end();
  }
}
