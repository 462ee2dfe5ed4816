import { readFile } from 'node:fs/promises';
import type internals from '@prisma/internals';

// What `prisma migrate` would create in PostgreSQL for a schema.prisma, read
// offline from Prisma's own parser (getDMMF, wasm): tables, columns with
// their PostgreSQL types, defaults, keys, indexes and enums.

type Datamodel = Awaited<ReturnType<typeof internals.getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];

/** A column as `format_type()` and `pg_get_expr()` show it. */
export interface ExpectedColumn {
  name: string;
  type: string;
  notNull: boolean;
  /** Acceptable column defaults; `undefined` when the column must have none. */
  defaults: (string | RegExp)[] | undefined;
}

/** A primary key or index Prisma declares. */
export interface ExpectedIndex {
  name: string;
  columns: string[];
  kind: 'primary' | 'unique' | 'normal';
  /** Access method, e.g. btree. */
  method: string;
}

/** A foreign key Prisma declares. */
export interface ExpectedForeignKey {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface ExpectedTable {
  model: string;
  name: string;
  /** Each scalar and enum field of the model with its column, in declaration order. */
  fieldColumns: Record<string, string>;
  columns: ExpectedColumn[];
  indexes: ExpectedIndex[];
  foreignKeys: ExpectedForeignKey[];
}

/** The PostgreSQL schema a schema.prisma describes. */
export interface ExpectedSchema {
  tables: ExpectedTable[];
  enums: { name: string; values: string[] }[];
}

const PRISMA_DEFAULT_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

const withArgs = (base: string, args: readonly string[], suffix = '') => (args.length ? `${base}(${args.join(',')})${suffix}` : `${base}${suffix}`);

/** `@db.X(args)` as format_type() prints it. */
function nativeTypeName(name: string, args: readonly string[]): string {
  switch (name) {
    case 'Timestamptz': return withArgs('timestamp', args, ' with time zone');
    case 'Timestamp': return withArgs('timestamp', args, ' without time zone');
    case 'Timetz': return withArgs('time', args, ' with time zone');
    case 'Time': return withArgs('time', args, ' without time zone');
    case 'VarChar': return withArgs('character varying', args);
    case 'Char': return withArgs('character', args);
    case 'Decimal': return withArgs('numeric', args);
    case 'Bit': return withArgs('bit', args);
    case 'VarBit': return withArgs('bit varying', args);
    case 'DoublePrecision': return 'double precision';
    default: return withArgs(name.toLowerCase(), args);
  }
}

function columnType(field: Field, enumNames: Map<string, string>): string {
  const base =
    field.kind === 'enum'
      ? enumNames.get(field.type)!
      : field.nativeType
        ? nativeTypeName(field.nativeType[0], field.nativeType[1])
        : PRISMA_DEFAULT_TYPES[field.type] ?? `unknown Prisma type ${field.type}`;
  return field.isList ? `${base}[]` : base;
}

/** The column defaults PostgreSQL may show for a field's @default (none for client-side ones like uuid()). */
function columnDefaults(field: Field, type: string): (string | RegExp)[] | undefined {
  if (!field.hasDefaultValue || field.default === undefined) return undefined;
  const value = field.default;
  if (Array.isArray(value)) return [/.+/]; // a list literal: only its presence is checked
  if (typeof value === 'object' && 'name' in value) {
    switch (value.name) {
      case 'now': return ['CURRENT_TIMESTAMP', 'now()'];
      case 'dbgenerated': return value.args.length ? [String(value.args[0])] : [/.+/];
      case 'autoincrement': return [/^nextval\(/];
      default: return undefined; // uuid(), cuid(), nanoid(), ulid(): made by Prisma Client
    }
  }
  if (typeof value === 'string') return [`'${value.replaceAll("'", "''")}'::${type}`];
  return [String(value), `'${String(value)}'::${type}`];
}

/** Prisma's default constraint names: <table>_<columns>_pkey|key|idx. */
function defaultIndexName(table: string, columns: string[], kind: ExpectedIndex['kind']): string {
  if (kind === 'primary') return `${table}_pkey`;
  return `${table}_${columns.join('_')}_${kind === 'unique' ? 'key' : 'idx'}`.slice(0, 63);
}

const REFERENTIAL_ACTION: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

function expectedTable(model: Model, datamodel: Datamodel, enumNames: Map<string, string>): ExpectedTable {
  const table = model.dbName ?? model.name;
  const columnOf = new Map(model.fields.map((f) => [f.name, f.dbName ?? f.name]));
  const tableOf = (modelName: string) => {
    const target = datamodel.models.find((m) => m.name === modelName)!;
    return { name: target.dbName ?? target.name, columnOf: new Map(target.fields.map((f) => [f.name, f.dbName ?? f.name])) };
  };
  const stored = model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');
  const fieldColumns = Object.fromEntries(stored.map((f) => [f.name, columnOf.get(f.name)!]));
  const columns = stored
    .map((f) => {
      const type = columnType(f, enumNames);
      return { name: columnOf.get(f.name)!, type, notNull: f.isRequired || f.isList, defaults: columnDefaults(f, type) };
    });
  const indexes = datamodel.indexes
    .filter((i) => i.model === model.name && i.type !== 'fulltext')
    .map((i) => {
      const kind = i.type === 'id' ? 'primary' : i.type === 'unique' ? 'unique' : 'normal';
      const cols = i.fields.map((f) => columnOf.get(f.name)!);
      const method = i.algorithm?.toLowerCase() ?? 'btree';
      return { name: i.dbName ?? defaultIndexName(table, cols, kind), columns: cols, kind, method } as ExpectedIndex;
    });
  const foreignKeys = model.fields
    .filter((f) => f.kind === 'object' && f.relationFromFields?.length)
    .map((f) => {
      const target = tableOf(f.type);
      const from = f.relationFromFields!;
      const required = from.every((name) => model.fields.find((x) => x.name === name)?.isRequired);
      return {
        columns: from.map((name) => columnOf.get(name)!),
        referencedTable: target.name,
        referencedColumns: f.relationToFields!.map((name) => target.columnOf.get(name)!),
        onDelete: REFERENTIAL_ACTION[f.relationOnDelete ?? (required ? 'Restrict' : 'SetNull')],
        onUpdate: REFERENTIAL_ACTION[f.relationOnUpdate ?? 'Cascade'],
      };
    });
  return { model: model.name, name: table, fieldColumns, columns, indexes, foreignKeys };
}

/** Parses `schemaPath` with Prisma's parser and derives the PostgreSQL objects it declares. */
export async function readPrismaSchema(schemaPath: string): Promise<ExpectedSchema> {
  // Loaded on demand: @prisma/internals is large, and most tests never need it.
  const { getDMMF } = (await import('@prisma/internals')).default;
  const { datamodel } = await getDMMF({ datamodel: await readFile(schemaPath, 'utf8') });
  const enumNames = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  return {
    tables: datamodel.models.map((m) => expectedTable(m, datamodel, enumNames)),
    enums: datamodel.enums.map((e) => ({ name: e.dbName ?? e.name, values: e.values.map((v) => v.dbName ?? v.name) })),
  };
}
