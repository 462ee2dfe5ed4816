// `npm run check-invariants`: reads the catalog and booking databases and
// reports any broken booking invariant (docs/booking-protocol.md, section 3,
// "Consistency and failure handling"). Exits 1 when one is broken, so it can run in a cron or
// a deployment check.
import { checkBookingInvariants } from '@carebook/testing';
import { configOrExit, databaseUrl, integer, loadConfig, oneOf } from '@carebook/server';

const config = configOrExit('check-invariants', () =>
  loadConfig({
    CATALOG_DATABASE_URL: databaseUrl('PostgreSQL URL of the catalog database'),
    BOOKING_DATABASE_URL: databaseUrl('PostgreSQL URL of the booking database'),
    BOOKING_RECONCILE_GRACE_MS: integer("the booking service's reconcile grace period", 15_000, 100, 3_600_000),
    CHECK_SETTLED: oneOf('also check what holds once the reconciler and the dispatcher have run', ['true', 'false'] as const, 'true'),
  }),
);

const report = await checkBookingInvariants(config.CATALOG_DATABASE_URL, config.BOOKING_DATABASE_URL, {
  settled: config.CHECK_SETTLED === 'true',
  graceMs: config.BOOKING_RECONCILE_GRACE_MS,
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.violations.length === 0 ? 0 : 1);
