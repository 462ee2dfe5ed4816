import { randomBytes } from 'node:crypto';

// The secrets every service under test is given: new for each test file (each
// runs in its own process), shared by all the services that file starts.

/** catalog's internal credential (CATALOG_INTERNAL_TOKEN) in tests. */
export const TEST_INTERNAL_TOKEN = randomBytes(32).toString('base64url');

/** booking's internal credential (BOOKING_INTERNAL_TOKEN) in tests: the event feed's callers send it. */
export const TEST_BOOKING_INTERNAL_TOKEN = randomBytes(32).toString('base64url');

/** The page-token keys (CAREBOOK_PAGE_TOKEN_KEY) in tests. */
export const TEST_PAGE_TOKEN_KEYS = [randomBytes(32).toString('base64url')];

/** The environment of a service process under test: its secrets. */
export const TEST_SECRETS_ENV: Record<string, string> = {
  CATALOG_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
  BOOKING_INTERNAL_TOKEN: TEST_BOOKING_INTERNAL_TOKEN,
  CAREBOOK_PAGE_TOKEN_KEY: TEST_PAGE_TOKEN_KEYS.join(','),
};
