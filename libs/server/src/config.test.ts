import { describe, expect, it } from 'vitest';
import { ConfigError, databaseUrl, integer, loadConfig, logLevel, oneOf, optionalText, secretList, text } from './config';

const spec = {
  HOST: text('address to listen on', '127.0.0.1'),
  NAME: text('service name'),
  PORT: integer('gRPC port', 50051, 0, 65535),
  POOL: integer('connections', 20, 1, 500),
  DATABASE_URL: databaseUrl('PostgreSQL URL'),
  TOKEN: optionalText('optional token'),
  MODE: oneOf('run mode', ['fast', 'safe'] as const, 'safe'),
  LOG_LEVEL: logLevel,
};

const validEnv = { NAME: 'catalog', DATABASE_URL: 'postgresql://u:p@localhost:5432/db' };

/** The ConfigError `fn` throws (fails the test if it throws nothing or something else). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults for unset variables', () => {
    expect(loadConfig(spec, validEnv)).toEqual({
      HOST: '127.0.0.1',
      NAME: 'catalog',
      PORT: 50051,
      POOL: 20,
      DATABASE_URL: 'postgresql://u:p@localhost:5432/db',
      TOKEN: undefined,
      MODE: 'safe',
      LOG_LEVEL: 'info',
    });
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig(spec, { ...validEnv, HOST: '  ', PORT: '', POOL: ' ', TOKEN: '', MODE: '', LOG_LEVEL: '' });
    expect(config).toMatchObject({ HOST: '127.0.0.1', PORT: 50051, POOL: 20, TOKEN: undefined, MODE: 'safe', LOG_LEVEL: 'info' });
  });

  it('reads and trims given values', () => {
    const config = loadConfig(spec, {
      ...validEnv,
      HOST: ' 0.0.0.0 ',
      PORT: '7000',
      POOL: '1',
      TOKEN: ' abc ',
      MODE: 'fast',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({ HOST: '0.0.0.0', PORT: 7000, POOL: 1, TOKEN: 'abc', MODE: 'fast', LOG_LEVEL: 'debug' });
  });

  it('ignores variables the spec does not name', () => {
    expect(loadConfig(spec, { ...validEnv, UNRELATED: 'x' })).not.toHaveProperty('UNRELATED');
  });

  it('reports every bad or missing variable in one ConfigError', () => {
    const err = configErrorOf(() =>
      loadConfig(spec, { PORT: 'abc', POOL: '0', MODE: 'reckless', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x/y' }),
    );
    expect(err.problems).toHaveLength(6);
    const named = ['NAME', 'PORT', 'POOL', 'DATABASE_URL', 'MODE', 'LOG_LEVEL'];
    for (const name of named) expect(err.message).toContain(name);
    expect(err.problems.map((p) => p.split(' ')[0])).toEqual(named);
    expect(err.message).toMatch(/^invalid configuration:/);
    expect(err.name).toBe('ConfigError');
    // Each problem says what is wrong and what the variable is for.
    expect(err.problems[0]).toBe('NAME is required (service name)');
    expect(err.problems[1]).toBe('PORT must be an integer from 0 to 65535, got "abc" (gRPC port)');
    expect(err.problems[4]).toBe('MODE must be one of fast, safe, got "reckless" (run mode)');
  });

  it('does not report the valid variables next to the bad ones', () => {
    const err = configErrorOf(() => loadConfig(spec, { ...validEnv, PORT: '70000' }));
    expect(err.problems).toEqual(['PORT must be an integer from 0 to 65535, got "70000" (gRPC port)']);
  });
});

describe('integer', () => {
  const port = integer('port', 5, 0, 65535);

  it.each([
    ['0', 0],
    ['65535', 65535],
    [' 42 ', 42],
  ])('accepts %j as %d', (raw, expected) => {
    expect(port.parse(raw)).toBe(expected);
  });

  it.each(['-1', '65536', '1.5', 'abc', '12abc', 'NaN', 'Infinity'])('rejects %j', (raw) => {
    expect(() => loadConfig({ PORT: port }, { PORT: raw })).toThrow(`PORT must be an integer from 0 to 65535, got "${raw}"`);
  });

  it('uses the fallback when unset', () => {
    expect(port.parse(undefined)).toBe(5);
  });
});

describe('databaseUrl', () => {
  const url = databaseUrl('db');

  it.each(['postgresql://u:p@localhost:5432/db', 'postgres://localhost/db', 'postgresql://u@127.0.0.1/db?sslmode=disable'])(
    'accepts %s',
    (raw) => {
      expect(url.parse(raw)).toBe(raw);
    },
  );

  it('trims surrounding blanks', () => {
    expect(url.parse('  postgres://localhost/db\n')).toBe('postgres://localhost/db');
  });

  it.each([
    [undefined, 'DB is required (db)'],
    ['', 'DB is required (db)'],
    ['not a url', 'DB must be a postgresql:// URL (db)'],
    ['mysql://localhost/db', 'DB must be a postgresql:// URL (db)'],
    ['http://localhost/db', 'DB must be a postgresql:// URL (db)'],
  ])('rejects %j', (raw, problem) => {
    const err = configErrorOf(() => loadConfig({ DB: url }, raw === undefined ? {} : { DB: raw }));
    expect(err.problems).toEqual([problem]);
  });
});

describe('logLevel', () => {
  it('accepts pino levels and rejects others', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
      expect(logLevel.parse(level)).toBe(level);
    }
    expect(() => logLevel.parse('verbose')).toThrow(/must be one of/);
  });
});

describe('ConfigError', () => {
  it('lists one problem per line', () => {
    const err = new ConfigError(['A is required (a)', 'B is required (b)']);
    expect(err.message).toBe('invalid configuration:\n  A is required (a)\n  B is required (b)');
  });
});

describe('loadConfig default env', () => {
  it('reads process.env when no env is passed', () => {
    const key = `CAREBOOK_CONFIG_TEST_${process.pid}`;
    process.env[key] = '7';
    try {
      expect(loadConfig({ [key]: integer('x', 1, 0, 10) })).toEqual({ [key]: 7 });
    } finally {
      delete process.env[key];
    }
  });
});

describe('secrets', () => {
  const secrets = { TOKEN: secretList('internal token', 32), KEYS: secretList('page-token keys', 32) };
  const long = (c: string) => c.repeat(32);

  it('reads a secret and a comma-separated list of them', () => {
    expect(loadConfig(secrets, { TOKEN: long('t'), KEYS: `${long('a')}, ${long('b')}` })).toEqual({ TOKEN: [long('t')], KEYS: [long('a'), long('b')] });
  });

  it('refuses missing and short secrets without repeating them', () => {
    const err = configErrorOf(() => loadConfig(secrets, { TOKEN: 'hunter2', KEYS: `${long('a')},tooshort` }));
    expect(err.problems).toEqual([
      'TOKEN must hold keys of at least 32 characters each (internal token)',
      'KEYS must hold keys of at least 32 characters each (page-token keys)',
    ]);
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('tooshort');
    expect(configErrorOf(() => loadConfig(secrets, {})).problems).toEqual(['TOKEN is required (internal token)', 'KEYS is required (page-token keys)']);
  });

  it('refuses secrets that cannot travel in a header: spaces and non-ASCII', () => {
    const err = configErrorOf(() => loadConfig(secrets, { TOKEN: `${long('t')} x`, KEYS: `${long('ü')}` }));
    expect(err.problems).toEqual([
      'TOKEN must hold printable ASCII without spaces (internal token)',
      'KEYS must hold printable ASCII without spaces (page-token keys)',
    ]);
  });
});
