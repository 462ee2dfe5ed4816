// Raw SQL typed as a Prisma model selects every column of the model, and rows
// typed as a Pick of one select exactly the picked fields. The compiler checks
// the field names (ColumnsOf<Row>); this checks each field's column against
// schema.prisma, so a new model column cannot be missing from a list.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPrismaSchema, type ExpectedTable } from '@carebook/testing';
import { APPOINTMENT_COLUMNS, APPOINTMENT_FIELDS } from '../src/appointments/statements';
import { LEASED_CONSULTATION_FIELDS } from '../src/consultations/repo';
import { LEASED_RELEASE_FIELDS } from '../src/releases/repo';

const schemaPath = fileURLToPath(new URL('../../../prisma/booking/schema.prisma', import.meta.url));
const model = async (name: string): Promise<ExpectedTable> => (await readPrismaSchema(schemaPath)).tables.find((t) => t.model === name)!;

describe('raw column lists', () => {
  it('APPOINTMENT_FIELDS is every field of the Appointment model with its column', async () => {
    expect(APPOINTMENT_FIELDS).toEqual((await model('Appointment')).fieldColumns);
    expect(APPOINTMENT_COLUMNS).toContain('replaces_appointment_id AS "replacesAppointmentId"');
  });

  it('LEASED_RELEASE_FIELDS are fields of the SlotRelease model, each with its column', async () => {
    const { fieldColumns } = await model('SlotRelease');
    for (const [field, column] of Object.entries(LEASED_RELEASE_FIELDS)) expect({ field, column }).toEqual({ field, column: fieldColumns[field] });
  });

  it('LEASED_CONSULTATION_FIELDS are fields of the Consultation model, each with its column', async () => {
    const { fieldColumns } = await model('Consultation');
    for (const [field, column] of Object.entries(LEASED_CONSULTATION_FIELDS)) expect({ field, column }).toEqual({ field, column: fieldColumns[field] });
  });
});
