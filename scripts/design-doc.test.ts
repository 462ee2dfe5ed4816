// The design documents stay true to the code: their ER diagrams to the Prisma
// schemas, the API table to the protos, the constraint tables to the
// migrations, and every link to a file or heading that exists. (That every
// Mermaid block parses is scripts/docs-mermaid.test.ts, which needs a DOM.)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readPrismaSchema, type ExpectedSchema, type ExpectedTable } from '@carebook/testing';
import { documentationFiles, fencedBlocks, headingAnchors, proseWords, repoRoot, section } from './docs/markdown';

const read = (path: string) => readFileSync(`${repoRoot}${path}`, 'utf8');
const design = read('docs/design.md');
const services = ['catalog', 'booking', 'notifications'] as const;

/** One entity of a Mermaid erDiagram: its attributes as written. */
interface ErEntity {
  name: string;
  attributes: { type: string; name: string; keys: string[] }[];
}

/** An erDiagram block: entities with attribute blocks, and relationship lines. */
interface ErDiagram {
  line: number;
  entities: ErEntity[];
  relationships: { from: string; to: string }[];
}

function parseErDiagram(body: string, line: number): ErDiagram {
  const diagram: ErDiagram = { line, entities: [], relationships: [] };
  let entity: ErEntity | undefined;
  for (const raw of body.split('\n').slice(1)) {
    const text = raw.trim();
    if (!text || text.startsWith('%%')) continue;
    if (entity) {
      if (text === '}') entity = undefined;
      else {
        const attr = /^(\S+)\s+(\S+)(?:\s+((?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*))?(?:\s+"[^"]*")?$/.exec(text);
        if (!attr) throw new Error(`erDiagram at line ${line}: cannot read attribute "${text}" of ${entity.name}`);
        entity.attributes.push({ type: attr[1], name: attr[2], keys: attr[3] ? attr[3].split(/\s*,\s*/) : [] });
      }
      continue;
    }
    const block = /^([\w-]+)\s*\{$/.exec(text);
    if (block) {
      entity = { name: block[1], attributes: [] };
      diagram.entities.push(entity);
      continue;
    }
    const rel = /^([\w-]+)\s+\S*(?:--|\.\.)\S*\s+([\w-]+)\s*:/.exec(text);
    if (rel) diagram.relationships.push({ from: rel[1], to: rel[2] });
    else throw new Error(`erDiagram at line ${line}: cannot read "${text}"`);
  }
  return diagram;
}

/** The type an ER diagram writes for a PostgreSQL column type. */
function erType(pgType: string): string {
  if (pgType.startsWith('timestamp') && pgType.endsWith('with time zone')) return 'timestamptz';
  if (pgType.startsWith('time(') || pgType.startsWith('time ')) return 'time';
  const names: Record<string, string> = { 'double precision': 'double', integer: 'int' };
  return names[pgType] ?? pgType;
}

const erDiagrams = fencedBlocks(design)
  .filter((b) => b.language === 'mermaid' && b.body.trimStart().startsWith('erDiagram'))
  .map((b) => parseErDiagram(b.body, b.line));

const schemas = new Map<string, ExpectedSchema>();
async function schemaOf(service: string): Promise<ExpectedSchema> {
  if (!schemas.has(service)) schemas.set(service, await readPrismaSchema(`${repoRoot}prisma/${service}/schema.prisma`));
  return schemas.get(service)!;
}

/** Every difference between one service's ER diagram and its Prisma schema. */
function erProblems(service: string, schema: ExpectedSchema, diagram: ErDiagram): string[] {
  const problems: string[] = [];
  const where = `${service} erDiagram (docs/design.md line ${diagram.line})`;
  const tables = new Map<string, ExpectedTable>(schema.tables.map((t) => [t.name, t]));
  for (const table of schema.tables) {
    if (!diagram.entities.some((e) => e.name === table.name)) problems.push(`${where}: model ${table.model} (table ${table.name}) has no entity`);
  }
  for (const entity of diagram.entities) {
    const table = tables.get(entity.name);
    if (!table) {
      problems.push(`${where}: entity ${entity.name} is no table of prisma/${service}/schema.prisma`);
      continue;
    }
    const primary = table.indexes.find((i) => i.kind === 'primary')?.columns ?? [];
    const foreign = new Set(table.foreignKeys.flatMap((fk) => fk.columns));
    for (const column of table.columns) {
      const attr = entity.attributes.find((a) => a.name === column.name);
      if (!attr) {
        problems.push(`${where}: ${table.name}.${column.name} is missing`);
        continue;
      }
      if (attr.type !== erType(column.type)) problems.push(`${where}: ${table.name}.${column.name} is ${attr.type}, the schema says ${erType(column.type)} (${column.type})`);
      if (attr.keys.includes('PK') !== primary.includes(column.name)) problems.push(`${where}: ${table.name}.${column.name} PK marker is wrong`);
      if (attr.keys.includes('FK') !== foreign.has(column.name)) problems.push(`${where}: ${table.name}.${column.name} FK marker is wrong`);
    }
    for (const attr of entity.attributes.filter((a) => !table.columns.some((c) => c.name === a.name))) {
      problems.push(`${where}: ${table.name}.${attr.name} is not a column`);
    }
    for (const fk of table.foreignKeys) {
      const joined = (a: string, b: string) => diagram.relationships.some((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
      if (!joined(table.name, fk.referencedTable)) {
        problems.push(`${where}: foreign key ${table.name}(${fk.columns.join(', ')}) → ${fk.referencedTable} has no relationship line`);
      }
    }
  }
  return problems;
}

describe('the ER diagrams of docs/design.md', () => {
  it('are one per service', () => {
    expect(erDiagrams).toHaveLength(services.length);
  });

  it.each(services)('show every model, column, key and foreign key of prisma/%s/schema.prisma, and nothing else', async (service) => {
    const schema = await schemaOf(service);
    const diagram = erDiagrams.find((d) => d.entities.some((e) => schema.tables.some((t) => t.name === e.name)));
    expect(diagram, `an erDiagram of ${service}'s tables`).toBeDefined();
    expect(erProblems(service, schema, diagram!)).toEqual([]);
  });

  it('would notice a missing column, a wrong type, a missing relationship and an unknown entity', async () => {
    const schema = await schemaOf('catalog');
    const diagram = erDiagrams.find((d) => d.entities.some((e) => e.name === 'slot'))!;
    const broken: ErDiagram = {
      line: diagram.line,
      relationships: diagram.relationships.filter((r) => !(r.from === 'clinic' && r.to === 'slot')),
      entities: [
        ...diagram.entities.map((e) =>
          e.name === 'slot'
            ? { ...e, attributes: e.attributes.filter((a) => a.name !== 'claim_id').map((a) => (a.name === 'end_time' ? { ...a, type: 'date' } : a)) }
            : e,
        ),
        { name: 'invoice', attributes: [] },
      ],
    };
    const problems = erProblems('catalog', schema, broken);
    expect(problems.some((p) => p.includes('slot.claim_id is missing'))).toBe(true);
    expect(problems.some((p) => p.includes('slot.end_time is date'))).toBe(true);
    expect(problems.some((p) => p.includes('foreign key slot(clinic_id) → clinic has no relationship line'))).toBe(true);
    expect(problems.some((p) => p.includes('entity invoice is no table'))).toBe(true);
  });
});

// A named object created or dropped by migration SQL: constraints added to a
// table or written inside CREATE TABLE, indexes, and triggers (constraint
// triggers and CREATE OR REPLACE included).
const CREATED_OR_DROPPED =
  /(?:(?<create>ADD\s+CONSTRAINT|^\s*CONSTRAINT|CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+CONCURRENTLY)?(?:\s+IF\s+NOT\s+EXISTS)?|CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER)|(?<drop>DROP\s+(?:CONSTRAINT|INDEX|TRIGGER)(?:\s+CONCURRENTLY)?(?:\s+IF\s+EXISTS)?))\s+"(?<name>\w+)"/gim;

/** The named objects that SQL, run in order, leaves in place (primary keys aside). */
function namedObjectsLeft(sql: string): string[] {
  const left = new Set<string>();
  for (const m of sql.replace(/--.*$/gm, '').matchAll(CREATED_OR_DROPPED)) {
    const name = m.groups!.name;
    if (m.groups!.drop) left.delete(name);
    else left.add(name);
  }
  return [...left].filter((name) => !name.endsWith('_pkey'));
}

/** Named constraints, indexes and triggers the migrations leave in place (primary keys aside). */
function migratedObjectNames(service: string): string[] {
  const dir = `${repoRoot}prisma/${service}/migrations`;
  const sql = readdirSync(dir)
    .filter((name) => existsSync(`${dir}/${name}/migration.sql`))
    .sort()
    .map((name) => readFileSync(`${dir}/${name}/migration.sql`, 'utf8'))
    .join('\n');
  return namedObjectsLeft(sql);
}

describe('the constraint and index tables of docs/design.md', () => {
  const tables = section(design, '1.4 Constraints and indexes');

  it.each(services)('name every constraint, index and trigger of the %s migrations', (service) => {
    const names = migratedObjectNames(service);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !tables.includes(`\`${name}\``))).toEqual([]);
  });

  it('are checked against constraints, indexes and triggers however the migrations write them', () => {
    const sql = `
      CREATE TABLE "t" (
          "id" BOOLEAN NOT NULL DEFAULT true,
          CONSTRAINT "t_pkey" PRIMARY KEY ("id"),
          CONSTRAINT "t_one_row_check" CHECK ("id")
      );
      ALTER TABLE "t" ADD CONSTRAINT "t_added_check" CHECK (true);
      CREATE UNIQUE INDEX "t_key" ON "t"("id");
      CREATE INDEX "t_idx" ON "t"("id");
      CREATE TRIGGER "t_trigger" BEFORE INSERT ON "t" FOR EACH ROW EXECUTE FUNCTION f();
      CREATE OR REPLACE TRIGGER "t_replaced" BEFORE INSERT ON "t" FOR EACH ROW EXECUTE FUNCTION f();
      CREATE CONSTRAINT TRIGGER "t_deferred" AFTER UPDATE ON "t" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION f();
      CREATE INDEX "t_gone_idx" ON "t"("id");
      DROP INDEX "t_gone_idx";
      -- ADD CONSTRAINT "t_commented_check"
    `;
    expect(namedObjectsLeft(sql).sort()).toEqual(['t_added_check', 't_deferred', 't_idx', 't_key', 't_one_row_check', 't_replaced', 't_trigger']);
    expect(migratedObjectNames('booking')).toEqual(
      expect.arrayContaining(['appointment_event_horizon_one_row_check', 'appointment_event_cursor_position_check', 'appointment_event_on_status_change']),
    );
  });
});

describe('the deployment diagram of docs/design.md', () => {
  const deployment = section(design, '2.1 Deployment');

  it.each(services)("names every table of %s's database", async (service) => {
    const schema = await schemaOf(service);
    expect(deployment).toMatch(/```mermaid\nflowchart/);
    expect(schema.tables.map((t) => t.name).filter((name) => !new RegExp(`\\b${name}\\b`).test(deployment))).toEqual([]);
  });
});

describe('the API table of docs/design.md', () => {
  const protoFiles = services.flatMap((service) =>
    readdirSync(`${repoRoot}proto/carebook/${service}/v1`)
      .filter((name) => name.endsWith('.proto'))
      .map((name) => ({ service, text: read(`proto/carebook/${service}/v1/${name}`) })),
  );
  const rpcs = protoFiles.flatMap(({ service, text }) => [...text.matchAll(/^\s*rpc\s+(\w+)\s*\(/gm)].map((m) => `${service} ${m[1]}`));
  const rows = section(design, '2.3 API')
    .split('\n')
    .map((line) => /^\|\s*(\w+)\s*\|\s*`(\w+)`\s*\|/.exec(line))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);

  it('lists every RPC of every service, once', () => {
    expect(rpcs.length).toBeGreaterThan(20);
    expect([...rows].sort()).toEqual([...rpcs].sort());
  });
});

describe('the documentation', () => {
  const files = documentationFiles();

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of files) {
      const dir = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/') + 1) : '';
      const withoutCode = file.text.replace(/```[\s\S]*?```/g, '');
      for (const [, target] of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto
        const [pathPart, anchor] = target.split('#');
        const resolved = pathPart ? new URL(pathPart, `file://${repoRoot}${dir}`).pathname : `${repoRoot}${file.path}`;
        if (!existsSync(resolved)) {
          broken.push(`${file.path}: ${target} (no such file)`);
          continue;
        }
        if (anchor && !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${file.path}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('keeps docs/design.md to about 4,000 words of prose, diagrams and tables aside', () => {
    expect(proseWords(design)).toBeLessThanOrEqual(4_000);
  });

  it('puts the summary first in docs/design.md, and the README links to it before any companion', () => {
    expect(design.indexOf('## Summary')).toBeLessThan(design.indexOf('## 1. '));
    const readme = read('README.md');
    const first = /\]\((docs\/[^)#]+)/.exec(readme);
    expect(first?.[1]).toBe('docs/design.md');
  });
});
