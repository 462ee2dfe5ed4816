import type { WireType } from '@bufbuild/protobuf/wire';
import { withNestedGroups, withOverlongLength, withUnknownField, withWrongWireType } from './wire';

// Bytes that are not the request's message: random, cut short, mis-tagged,
// over-long, nested too deep; and two that are valid but unusual (an unknown
// field, trailing garbage that happens to parse).

const FORMS = ['random', 'truncated', 'wrong-wire-type', 'overlong-length', 'nested-groups', 'unknown-field', 'overlong-varint'] as const;
const CLAIMED_LENGTHS = [2 ** 31 - 1, 2 ** 32 - 1, 1_000_000, 4];
const GROUP_DEPTHS = [10, 100, 1000, 10_000, 100_000];

/** Malformed bytes built from the valid encoding `valid`, as the draw says; `value` describes them. */
export function malformedBytes(valid: Uint8Array, draw: { variant: number; at: number; size: number; bytes: Uint8Array }): { bytes: Uint8Array; value: string } {
  const form = FORMS[draw.variant % FORMS.length];
  const hex = (b: Uint8Array) => Buffer.from(b.subarray(0, 24)).toString('hex') + (b.length > 24 ? '…' : '');
  switch (form) {
    case 'truncated': {
      if (valid.length < 2) return { bytes: draw.bytes, value: `random ${hex(draw.bytes)}` };
      const length = draw.at % valid.length;
      return { bytes: valid.subarray(0, length), value: `truncated to ${length} of ${valid.length} bytes` };
    }
    case 'wrong-wire-type': {
      const wireType = (draw.size % 8) as WireType;
      const bytes = withWrongWireType(valid, draw.at, wireType);
      return bytes ? { bytes, value: `a field re-tagged as wire type ${wireType}: ${hex(bytes)}` } : { bytes: draw.bytes, value: `random ${hex(draw.bytes)}` };
    }
    case 'overlong-length': {
      const claimed = CLAIMED_LENGTHS[draw.size % CLAIMED_LENGTHS.length];
      return { bytes: withOverlongLength(valid, claimed), value: `a LEN field claiming ${claimed} bytes, carrying 3` };
    }
    case 'nested-groups': {
      const depth = GROUP_DEPTHS[draw.size % GROUP_DEPTHS.length];
      return { bytes: withNestedGroups(valid, depth), value: `${depth} nested groups of an unknown field` };
    }
    case 'unknown-field':
      return { bytes: withUnknownField(valid, draw.bytes), value: `unknown field 999 = ${hex(draw.bytes)}` };
    case 'overlong-varint':
      return { bytes: new Uint8Array([0x08, ...new Array(10).fill(0xff), 0x01]), value: 'field 1 varint of 11 bytes' };
    default:
      return { bytes: draw.bytes, value: `random ${hex(draw.bytes)}` };
  }
}
