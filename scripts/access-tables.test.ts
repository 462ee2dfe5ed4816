import { describe, expect, it } from 'vitest';
import { BookingServiceService } from '@carebook/proto/booking';
import { CatalogServiceService } from '@carebook/proto/catalog';
import { descriptorRegistry } from '@carebook/proto/descriptors';
import { NotificationServiceService } from '@carebook/proto/notifications';
import { accessTableProblems } from '@carebook/server';
import { BOOKING_ACCESS } from '../apps/booking/src/access';
import { BOOKING_SERVICE_NAME } from '../apps/booking/src/server';
import { CATALOG_ACCESS } from '../apps/catalog/src/access';
import { CATALOG_SERVICE_NAME } from '../apps/catalog/src/server';
import { NOTIFICATIONS_ACCESS } from '../apps/notifications/src/access';
import { NOTIFICATIONS_SERVICE_NAME } from '../apps/notifications/src/server';

// Every RPC of every service has exactly one access rule (docs/operations.md,
// section 5): a new RPC cannot ship without one, and a rule cannot outlive
// its RPC. The walk goes over the generated service definitions and, to be
// sure they are complete, over the protos' own descriptors.

const services = [
  { name: CATALOG_SERVICE_NAME, definition: CatalogServiceService, access: CATALOG_ACCESS },
  { name: BOOKING_SERVICE_NAME, definition: BookingServiceService, access: BOOKING_ACCESS },
  { name: NOTIFICATIONS_SERVICE_NAME, definition: NotificationServiceService, access: NOTIFICATIONS_ACCESS },
];

describe.each(services)('$name', ({ name, definition, access }) => {
  it('has one known rule for every RPC of its definition, and none for RPCs it lacks', () => {
    expect(accessTableProblems(definition, access)).toEqual([]);
    for (const [key, rule] of Object.entries(access)) expect({ key, rule }).toEqual({ key, rule: expect.stringMatching(/^(authenticated|admin|internal)$/) });
  });

  it('has a rule for every method of the proto service', () => {
    const methods = descriptorRegistry().getService(name)?.methods.map((m) => m.name) ?? [];
    expect(methods.length).toBeGreaterThan(0);
    const paths = definition as Record<string, { path: string }>;
    const ruled = Object.keys(access).map((key) => paths[key].path.split('/').pop());
    expect([...ruled].sort()).toEqual([...methods].sort());
  });
});

it("catalog's rules: writes are admin, claims and releases internal, everything else a read", () => {
  const byRule = (rule: string) => Object.keys(CATALOG_ACCESS).filter((key) => CATALOG_ACCESS[key as keyof typeof CATALOG_ACCESS] === rule).sort();
  expect(byRule('admin')).toEqual(['addDoctorClinic', 'addScheduleException', 'createClinic', 'createDoctor', 'createSchedule', 'createSlots', 'deleteSchedule', 'updateSchedule']);
  expect(byRule('internal')).toEqual(['claimSlot', 'releaseSlot']);
  expect(byRule('authenticated').every((key) => /^(get|batchGet|list|search|find)/.test(key))).toBe(true);
});

it("booking's rules: the event feed, which shows every patient's appointments, is internal; the doctor's link to a consultation is for staff (admin); the rest is open to any authenticated caller", () => {
  const byRule = (rule: string) => Object.keys(BOOKING_ACCESS).filter((key) => BOOKING_ACCESS[key as keyof typeof BOOKING_ACCESS] === rule).sort();
  expect(byRule('internal')).toEqual(['listAppointmentEvents', 'watchAppointmentEvents']);
  expect(byRule('admin')).toEqual(['getConsultation']);
});
