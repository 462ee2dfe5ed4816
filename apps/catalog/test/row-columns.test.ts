// Raw SQL that returns Slot rows selects every column of the model: a column
// added to schema.prisma but missing here would leave a field undefined in
// rows typed Slot. The compiler checks the field names (ColumnsOf<Slot>);
// this checks each field's column against schema.prisma.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPrismaSchema } from '@carebook/testing';
import { SLOT_COLUMNS, SLOT_FIELDS } from '../src/slots/columns';

const schemaPath = fileURLToPath(new URL('../../../prisma/catalog/schema.prisma', import.meta.url));

describe('raw column lists', () => {
  it('SLOT_FIELDS is every field of the Slot model with its column', async () => {
    const slot = (await readPrismaSchema(schemaPath)).tables.find((t) => t.model === 'Slot')!;
    expect(SLOT_FIELDS).toEqual(slot.fieldColumns);
  });

  it('SLOT_COLUMNS selects each of them from the slot `s` under its field name', () => {
    expect(SLOT_COLUMNS.text).toContain('s.schedule_id AS "scheduleId"');
    expect(SLOT_COLUMNS.text).toContain('s.specialty,');
    expect(SLOT_COLUMNS.text.split(', ')).toHaveLength(Object.keys(SLOT_FIELDS).length);
  });
});
