// Configuration from the environment, checked once at start-up: every bad or
// missing variable is reported together in one ConfigError.

/** How to read one environment variable. */
export interface EnvVar<T> {
  describe: string;
  parse(raw: string | undefined): T;
}

/** Thrown by loadConfig; its message names every bad or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Thrown by an EnvVar's parse: the value is bad; its message says why (never repeating a secret). */
export class BadValue extends Error {}

/** A string; required unless a default is given. */
export function text(describe: string, fallback?: string): EnvVar<string> {
  return {
    describe,
    parse(raw) {
      const value = raw?.trim() || fallback;
      if (value === undefined) throw new BadValue('is required');
      return value;
    },
  };
}

/** An optional string: undefined when unset or empty. */
export function optionalText(describe: string): EnvVar<string | undefined> {
  return { describe, parse: (raw) => raw?.trim() || undefined };
}

/** An integer in [min, max]. */
export function integer(describe: string, fallback: number, min: number, max: number): EnvVar<number> {
  return {
    describe,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) throw new BadValue(`must be an integer from ${min} to ${max}, got "${raw}"`);
      return value;
    },
  };
}

/** A required postgres:// or postgresql:// URL. */
export function databaseUrl(describe: string): EnvVar<string> {
  return {
    describe,
    parse(raw) {
      const value = raw?.trim();
      if (!value) throw new BadValue('is required');
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new BadValue('must be a postgresql:// URL');
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new BadValue('must be a postgresql:// URL');
      return value;
    },
  };
}

// What a secret may hold: it travels in HTTP headers and environment variables.
const PRINTABLE = /^[\x21-\x7e]+$/;

/** Required comma-separated secrets, each of at least `minLength` characters (the first is current, the others still accepted). */
export function secretList(describe: string, minLength: number): EnvVar<string[]> {
  return {
    describe,
    parse(raw) {
      const values = (raw ?? '').split(',').map((v) => v.trim()).filter(Boolean);
      if (values.length === 0) throw new BadValue('is required');
      if (values.some((v) => v.length < minLength)) throw new BadValue(`must hold keys of at least ${minLength} characters each`);
      if (values.some((v) => !PRINTABLE.test(v))) throw new BadValue('must hold printable ASCII without spaces');
      return values;
    },
  };
}

/** An optional number from 0 to 1 (a ratio); undefined when unset. */
export function optionalRatio(describe: string): EnvVar<number | undefined> {
  return {
    describe,
    parse(raw) {
      if (raw === undefined || raw.trim() === '') return undefined;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < 0 || value > 1) throw new BadValue(`must be a number from 0 to 1, got "${raw.slice(0, 32)}"`);
      return value;
    },
  };
}

/** One of the listed values. */
export function oneOf<T extends string>(describe: string, values: readonly T[], fallback: T): EnvVar<T> {
  return {
    describe,
    parse(raw) {
      const value = raw?.trim() || fallback;
      if (!values.includes(value as T)) throw new BadValue(`must be one of ${values.join(', ')}, got "${raw}"`);
      return value as T;
    },
  };
}

export type ConfigSpec<T> = { [K in keyof T]: EnvVar<T[K]> };

/**
 * A rule across variables: the problems it finds. It runs even when some
 * variables were bad (those are missing from `config`), so every problem is
 * reported at once; `env` tells a variable that was set but bad from an unset one.
 */
export type ConfigCheck<T> = (config: Partial<T>, env: NodeJS.ProcessEnv) => string[];

/** Reads the variables named by `spec`'s keys from `env`, then runs `checks`; throws ConfigError listing every problem. */
export function loadConfig<T>(spec: ConfigSpec<T>, env: NodeJS.ProcessEnv = process.env, checks: ConfigCheck<NoInfer<T>>[] = []): T {
  const problems: string[] = [];
  const config = {} as T;
  for (const name of Object.keys(spec) as (keyof T & string)[]) {
    try {
      config[name] = spec[name].parse(env[name]);
    } catch (err) {
      if (!(err instanceof BadValue)) throw err;
      problems.push(`${name} ${err.message} (${spec[name].describe})`);
    }
  }
  for (const check of checks) problems.push(...check(config, env));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** True when `name` is set to something other than blanks. */
export const isSet = (env: NodeJS.ProcessEnv, name: string): boolean => Boolean(env[name]?.trim());

/** Common logging setting shared by every service. */
export const logLevel = oneOf('pino log level', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info');

/** Runs `load`; on a ConfigError prints it as one message for `program` and exits with code 2. */
export function configOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
}
