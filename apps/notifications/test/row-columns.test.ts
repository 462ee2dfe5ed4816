// The send path reads notification rows with raw SQL through
// NOTIFICATION_FIELDS; the compiler checks the field names (ColumnsOf), this
// checks each column against schema.prisma.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readPrismaSchema } from '@carebook/testing';
import { NOTIFICATION_FIELDS } from '../src/notifications/repo';

const schemaPath = fileURLToPath(new URL('../../../prisma/notifications/schema.prisma', import.meta.url));

it('NOTIFICATION_FIELDS is every field of the Notification model with its column', async () => {
  const model = (await readPrismaSchema(schemaPath)).tables.find((t) => t.model === 'Notification')!;
  expect(NOTIFICATION_FIELDS).toEqual(model.fieldColumns);
});
