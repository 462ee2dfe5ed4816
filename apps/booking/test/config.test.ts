import { describe, expect, it } from 'vitest';
import { ConfigError } from '@carebook/server';
import { loadBookingConfig } from '../src/config';

// The claim window (docs/booking-protocol.md, section 3.3): a claim's deadline is the appointment's
// create time plus the grace period less the skew bound, and that window must
// hold a claim and its retry, so grace ≥ skew + 2 × the call timeout.

const secret = 'x'.repeat(43);
const baseEnv = {
  BOOKING_DATABASE_URL: 'postgresql://u:p@localhost:5432/booking',
  CATALOG_INTERNAL_TOKEN: secret,
  BOOKING_INTERNAL_TOKEN: secret,
  CAREBOOK_PAGE_TOKEN_KEY: secret,
};

/** The ConfigError loading `env` throws (fails the test if it throws nothing or something else). */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadBookingConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('booking configuration: the claim window', () => {
  it('accepts the defaults', () => {
    const config = loadBookingConfig(baseEnv);
    const { BOOKING_RECONCILE_GRACE_MS: grace, BOOKING_CLOCK_SKEW_BOUND_MS: skew, CATALOG_RPC_TIMEOUT_MS: timeout } = config;
    expect(grace).toBeGreaterThanOrEqual(skew + 2 * timeout);
  });

  it('refuses a grace period shorter than the skew bound plus twice the call timeout, naming the variables', () => {
    const err = configErrorOf({
      ...baseEnv,
      BOOKING_RECONCILE_GRACE_MS: '4999',
      BOOKING_CLOCK_SKEW_BOUND_MS: '1000',
      CATALOG_RPC_TIMEOUT_MS: '2000',
    });
    expect(err.problems).toEqual([
      'BOOKING_RECONCILE_GRACE_MS (4999) must be at least BOOKING_CLOCK_SKEW_BOUND_MS (1000) plus twice CATALOG_RPC_TIMEOUT_MS (2000)',
    ]);
  });

  it('refuses the issue\'s case: a grace period of barely twice the call timeout', () => {
    const err = configErrorOf({ ...baseEnv, BOOKING_RECONCILE_GRACE_MS: '4100', CATALOG_RPC_TIMEOUT_MS: '2000' });
    expect(err.message).toContain('BOOKING_RECONCILE_GRACE_MS (4100)');
    for (const name of ['BOOKING_CLOCK_SKEW_BOUND_MS', 'CATALOG_RPC_TIMEOUT_MS']) expect(err.message).toContain(name);
  });

  it('accepts the boundary: grace exactly the skew bound plus twice the call timeout', () => {
    const config = loadBookingConfig({
      ...baseEnv,
      BOOKING_RECONCILE_GRACE_MS: '5000',
      BOOKING_CLOCK_SKEW_BOUND_MS: '1000',
      CATALOG_RPC_TIMEOUT_MS: '2000',
    });
    expect(config).toMatchObject({ BOOKING_RECONCILE_GRACE_MS: 5000, BOOKING_CLOCK_SKEW_BOUND_MS: 1000, CATALOG_RPC_TIMEOUT_MS: 2000 });
  });

  it('accepts the boundary with no skew bound', () => {
    const config = loadBookingConfig({
      ...baseEnv,
      BOOKING_RECONCILE_GRACE_MS: '100',
      BOOKING_CLOCK_SKEW_BOUND_MS: '0',
      CATALOG_RPC_TIMEOUT_MS: '50',
    });
    expect(config.BOOKING_RECONCILE_GRACE_MS).toBe(100);
    expect(configErrorOf({ ...baseEnv, BOOKING_RECONCILE_GRACE_MS: '100', BOOKING_CLOCK_SKEW_BOUND_MS: '1', CATALOG_RPC_TIMEOUT_MS: '50' }).problems).toHaveLength(1);
  });
});
