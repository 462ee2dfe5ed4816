import { InvalidArgumentError, type FieldViolation } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid UUID string. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Collects field violations while a request is parsed, so one error names
 * every bad field. Each method returns the parsed value (or a placeholder
 * when invalid); call `done()` before using any of them.
 */
export class RequestValidator {
  private readonly violations: FieldViolation[] = [];

  /** Records a violation for `field`. */
  fail(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  /** A non-blank string of at most `maxLength` characters, trimmed. */
  requiredText(field: string, value: string, maxLength = 200): string {
    const text = value.trim();
    if (!text) this.fail(field, 'is required');
    else if (text.length > maxLength) this.fail(field, `must be at most ${maxLength} characters`);
    return text;
  }

  /** A required UUID. */
  uuid(field: string, value: string): string {
    if (!value) this.fail(field, 'is required');
    else if (!isUuid(value)) this.fail(field, 'must be a UUID');
    return value.toLowerCase();
  }

  /** A string of at most `maxLength` characters, trimmed; empty is allowed. */
  optionalText(field: string, value: string, maxLength = 500): string {
    const text = value.trim();
    if (text.length > maxLength) this.fail(field, `must be at most ${maxLength} characters`);
    return text;
  }

  /** A UUID, or undefined when empty. */
  optionalUuid(field: string, value: string): string | undefined {
    return value ? this.uuid(field, value) : undefined;
  }

  /** A required timestamp. */
  timestamp(field: string, value: Date | undefined): Date {
    if (!value) {
      this.fail(field, 'is required');
      return new Date(0);
    }
    if (Number.isNaN(value.getTime())) this.fail(field, 'is not a valid timestamp');
    return value;
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
