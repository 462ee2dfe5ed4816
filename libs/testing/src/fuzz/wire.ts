import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// Protobuf wire format, read and written field by field, so the fuzz test can
// send what no ts-proto object can express: int64 beyond 2^53, Timestamps out
// of range, invalid UTF-8, wrong wire types.

/** One field of an encoded message; `payload` excludes the tag (and a LEN field's length prefix). */
export interface WireField {
  no: number;
  wireType: WireType;
  payload: Uint8Array;
  /** The payload parsed as a message, when it parses as one. */
  children?: WireField[];
}

/** The fields of `bytes`, nested messages parsed where they parse; undefined if `bytes` is not a message. */
export function parseMessage(bytes: Uint8Array, depth = 0): WireField[] | undefined {
  const reader = new BinaryReader(bytes);
  const fields: WireField[] = [];
  try {
    while (reader.pos < reader.len) {
      const [no, wireType] = reader.tag();
      if (wireType === WireType.LengthDelimited) {
        const payload = reader.bytes();
        fields.push({ no, wireType, payload, children: depth < 32 && payload.length > 0 ? parseMessage(payload, depth + 1) : undefined });
      } else {
        const start = reader.pos;
        reader.skip(wireType, no);
        fields.push({ no, wireType, payload: bytes.subarray(start, reader.pos) });
      }
    }
  } catch {
    return undefined;
  }
  return fields;
}

/** Encodes `fields` again, recomputing the lengths of nested messages. */
export function serializeMessage(fields: WireField[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const field of fields) {
    writer.tag(field.no, field.wireType);
    if (field.wireType === WireType.LengthDelimited) writer.bytes(field.children ? serializeMessage(field.children) : field.payload);
    else writer.raw(field.payload);
  }
  return writer.finish();
}

/** Every field of the tree, depth first. */
export function allFields(fields: WireField[]): WireField[] {
  return fields.flatMap((f) => [f, ...(f.children ? allFields(f.children) : [])]);
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * Replaces, in `encoded`, the LEN field whose payload is exactly `sentinel`
 * with `replacement`; undefined if no field matches.
 */
export function replaceLengthDelimited(encoded: Uint8Array, sentinel: Uint8Array, replacement: Uint8Array): Uint8Array | undefined {
  const tree = parseMessage(encoded);
  const target = tree && allFields(tree).find((f) => f.wireType === WireType.LengthDelimited && equalBytes(f.payload, sentinel));
  if (!tree || !target) return undefined;
  target.payload = replacement;
  target.children = undefined;
  return serializeMessage(tree);
}

/** Replaces, in `encoded`, the varint field whose value is `sentinel` with the raw 64-bit `value`; undefined if none matches. */
export function replaceVarint(encoded: Uint8Array, sentinel: bigint, value: bigint): Uint8Array | undefined {
  const tree = parseMessage(encoded);
  const target = tree && allFields(tree).find((f) => f.wireType === WireType.Varint && new BinaryReader(f.payload).uint64() === sentinel);
  if (!tree || !target) return undefined;
  target.payload = new BinaryWriter().uint64(BigInt.asUintN(64, value)).finish();
  return serializeMessage(tree);
}

/** A google.protobuf.Timestamp (or Duration) with any int64 seconds and int32 nanos. */
export function encodeSecondsNanos(seconds: bigint, nanos: number): Uint8Array {
  const writer = new BinaryWriter();
  if (seconds !== 0n) writer.tag(1, WireType.Varint).int64(seconds);
  if (nanos !== 0) writer.tag(2, WireType.Varint).int32(nanos);
  return writer.finish();
}

/** `encoded` with the `index`-th field (depth first) re-tagged with another wire type, its payload kept. */
export function withWrongWireType(encoded: Uint8Array, index: number, wireType: WireType): Uint8Array | undefined {
  const tree = parseMessage(encoded);
  const fields = tree ? allFields(tree) : [];
  if (!tree || fields.length === 0) return undefined;
  const target = fields[index % fields.length];
  if (target.wireType === wireType) return undefined;
  // A LEN payload written as raw bytes behind a varint/fixed tag, or raw
  // bytes behind a LEN tag: the reader sees a length, or a value, it did not expect.
  const payload = target.wireType === WireType.LengthDelimited && target.children ? serializeMessage(target.children) : target.payload;
  target.children = undefined;
  target.payload = wireType === WireType.LengthDelimited ? payload : new Uint8Array([...new BinaryWriter().uint32(payload.length).finish(), ...payload]);
  target.wireType = wireType;
  return serializeLoosely(tree);
}

/** Like serializeMessage, but writes every non-LEN payload as is, even under a tag whose wire type does not fit it. */
function serializeLoosely(fields: WireField[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const field of fields) {
    writer.uint32(((field.no << 3) | field.wireType) >>> 0);
    if (field.wireType === WireType.LengthDelimited) writer.bytes(field.children ? serializeLoosely(field.children) : field.payload);
    else writer.raw(field.payload);
  }
  return writer.finish();
}

/** `encoded` followed by a LEN field that claims `claimedLength` bytes but carries three. */
export function withOverlongLength(encoded: Uint8Array, claimedLength: number): Uint8Array {
  const tail = new BinaryWriter().tag(1, WireType.LengthDelimited).uint32(claimedLength).raw(new Uint8Array([0x61, 0x62, 0x63])).finish();
  return new Uint8Array([...encoded, ...tail]);
}

/** `encoded` followed by `depth` nested start-group tags of an unknown field (and their end tags). */
export function withNestedGroups(encoded: Uint8Array, depth: number): Uint8Array {
  const start = new BinaryWriter().tag(999, WireType.StartGroup).finish();
  const end = new BinaryWriter().tag(999, WireType.EndGroup).finish();
  const out = Buffer.alloc(encoded.length + depth * (start.length + end.length));
  out.set(encoded, 0);
  for (let i = 0; i < depth; i++) out.set(start, encoded.length + i * start.length);
  for (let i = 0; i < depth; i++) out.set(end, encoded.length + depth * start.length + i * end.length);
  return out;
}

/** `encoded` followed by an unknown LEN field (number 999) carrying `payload`, which a parser must skip. */
export function withUnknownField(encoded: Uint8Array, payload: Uint8Array): Uint8Array {
  const tail = new BinaryWriter().tag(999, WireType.LengthDelimited).bytes(payload).finish();
  return new Uint8Array([...encoded, ...tail]);
}
