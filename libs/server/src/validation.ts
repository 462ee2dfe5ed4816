import { InvalidArgumentError, type FieldViolation } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// C0 and C1 control characters and DEL. PostgreSQL refuses NUL in text, and
// none of them belongs in a name, an address or a filter.
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// The same, less line feed and tab, for free text that documents them.
// eslint-disable-next-line no-control-regex -- finding them is the point
const CONTROL_EXCEPT_LINE_BREAKS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** How much of an offending value an error quotes: enough to recognise it, never the whole of a huge one. */
export const QUOTE_LIMIT = 64;

/** A bad value as error messages quote it: JSON-escaped, at most QUOTE_LIMIT characters, then an ellipsis. */
export function quote(value: string): string {
  return value.length > QUOTE_LIMIT ? `${JSON.stringify(value.slice(0, QUOTE_LIMIT))}…` : JSON.stringify(value);
}

/** True for a syntactically valid UUID string. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A range of instants a timestamp field accepts, [min, max), with how to say it. */
export interface TimeRange {
  min: Date;
  max: Date;
  describe: string;
}

/**
 * What a stored time may be: slot and appointment times. Bounded well inside
 * what PostgreSQL, JavaScript and google.protobuf.Timestamp (years 1–9999)
 * can all hold, so an end time computed from a start time still fits in a
 * reply.
 */
export const STORED_TIME_RANGE: TimeRange = {
  min: new Date('1970-01-01T00:00:00Z'),
  max: new Date('9999-01-01T00:00:00Z'),
  describe: 'from 1970-01-01 to 9998-12-31',
};

/** What a filter bound may be: anything google.protobuf.Timestamp can hold (the request decoder already refused the rest). */
export const FILTER_TIME_RANGE: TimeRange = {
  min: new Date('0001-01-01T00:00:00Z'),
  max: new Date('10000-01-01T00:00:00Z'),
  describe: 'from 0001-01-01 to 9999-12-31',
};

/** A google.protobuf.Duration as the stubs give it. */
export interface DurationValue {
  seconds: number;
  nanos: number;
}

/** The lengths a duration field accepts, (0, maxMs], with how to say it. */
export interface DurationRange {
  maxMs: number;
  describe: string;
}

const NANOS_PER_MS = 1_000_000;

/** Options of a text field. */
export interface TextOptions {
  /** Line feeds and tabs are allowed (free text such as a reason). */
  multiline?: boolean;
}

/**
 * Collects field violations while a request is parsed, so one error names
 * every bad field. Each method returns the parsed value (or a placeholder
 * when invalid); call `done()` before using any of them. Every text is
 * length-capped and refuses control characters; every quoted value is cut
 * to a short prefix.
 */
export class RequestValidator {
  private readonly violations: FieldViolation[] = [];

  /** Records a violation for `field`. */
  fail(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  /** True when no violation was recorded for `field`. */
  ok(field: string): boolean {
    return !this.violations.some((v) => v.field === field);
  }

  /** Checks length and characters of `text`, recording the first problem. */
  private checkText(field: string, text: string, maxLength: number, options: TextOptions): void {
    if (text.length > maxLength) this.fail(field, `must be at most ${maxLength} characters`);
    else if ((options.multiline ? CONTROL_EXCEPT_LINE_BREAKS : CONTROL).test(text)) {
      this.fail(field, options.multiline ? 'must not contain control characters other than line feeds and tabs' : 'must not contain control characters');
    }
  }

  /** A non-blank string of at most `maxLength` characters, trimmed. */
  requiredText(field: string, value: string, maxLength = 200, options: TextOptions = {}): string {
    const text = value.trim();
    if (!text) this.fail(field, 'is required');
    else this.checkText(field, text, maxLength, options);
    return text;
  }

  /** A string of at most `maxLength` characters, trimmed; empty is allowed. */
  optionalText(field: string, value: string, maxLength = 500, options: TextOptions = {}): string {
    const text = value.trim();
    this.checkText(field, text, maxLength, options);
    return text;
  }

  /** A required UUID. */
  uuid(field: string, value: string): string {
    if (!value) this.fail(field, 'is required');
    else if (!isUuid(value)) this.fail(field, `must be a UUID, got ${quote(value)}`);
    return value.toLowerCase();
  }

  /**
   * 1 to `maxCount` UUIDs (a batch's ids; repeats allowed). Only the first
   * bad one is named, so a reply stays short however many were sent.
   */
  uuidList(field: string, values: readonly string[], maxCount: number): string[] {
    if (values.length === 0) this.fail(field, 'must name at least one id');
    else if (values.length > maxCount) this.fail(field, `must name at most ${maxCount} ids, got ${values.length}`);
    else {
      const bad = values.findIndex((value) => !isUuid(value));
      if (bad >= 0) this.fail(`${field}[${bad}]`, `must be a UUID, got ${quote(values[bad])}`);
    }
    return values.map((value) => value.toLowerCase());
  }

  /** A UUID, or undefined when empty. */
  optionalUuid(field: string, value: string): string | undefined {
    return value ? this.uuid(field, value) : undefined;
  }

  /** A required timestamp within `range`. */
  timestamp(field: string, value: Date | undefined, range: TimeRange = STORED_TIME_RANGE): Date {
    if (!value) {
      this.fail(field, 'is required');
      return new Date(0);
    }
    this.timeInRange(field, value, range);
    return value;
  }

  /** An optional timestamp within `range`. */
  optionalTimestamp(field: string, value: Date | undefined, range: TimeRange = FILTER_TIME_RANGE): Date | undefined {
    if (value) this.timeInRange(field, value, range);
    return value;
  }

  private timeInRange(field: string, value: Date, range: TimeRange): void {
    if (Number.isNaN(value.getTime())) this.fail(field, 'is not a valid timestamp');
    else if (value < range.min || value >= range.max) this.fail(field, `must be ${range.describe}`);
  }

  /**
   * An optional duration of whole milliseconds, more than 0 and at most
   * `range.maxMs`, in milliseconds; undefined when unset. (The request
   * decoder already refused nanos out of range or of the wrong sign.)
   */
  optionalDurationMs(field: string, value: DurationValue | undefined, range: DurationRange): number | undefined {
    if (!value) return undefined;
    const ms = Number(value.seconds) * 1000 + value.nanos / NANOS_PER_MS;
    if (value.nanos % NANOS_PER_MS !== 0) this.fail(field, 'must be a whole number of milliseconds');
    else if (!(ms > 0 && ms <= range.maxMs)) this.fail(field, `must be ${range.describe}`);
    return ms;
  }

  /** page_size: 0 means `defaultSize`, otherwise 1..`maxSize`. */
  pageSize(field: string, value: number, defaultSize = 50, maxSize = 500): number {
    if (value === 0) return defaultSize;
    if (!Number.isInteger(value) || value < 1 || value > maxSize) this.fail(field, `must be between 1 and ${maxSize}`);
    return value;
  }

  /** Throws InvalidArgumentError naming every violation recorded so far. */
  done(): void {
    if (this.violations.length > 0) throw new InvalidArgumentError(this.violations);
  }
}
