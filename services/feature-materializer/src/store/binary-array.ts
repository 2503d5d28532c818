const FLOAT8_OID = 701;
const INT8_OID = 20;
const TEXT_OID = 25;

/** Header of a one-dimensional array in Postgres' binary format: ndim 1, has-null, element oid, (size, lbound 1). */
function header(out: Buffer, hasNull: boolean, oid: number, size: number): void {
  out.writeInt32BE(1, 0);
  out.writeInt32BE(hasNull ? 1 : 0, 4);
  out.writeUInt32BE(oid, 8);
  out.writeInt32BE(size, 12);
  out.writeInt32BE(1, 16);
}

/**
 * Postgres' binary array format of a one-dimensional float8[] (what array_recv reads): ndim, has-null
 * flag, element oid, (size, lower bound 1), then per element a length (-1 = NULL) and 8 big-endian bytes.
 * node-postgres sends a Buffer parameter in binary format, so a `$n::float8[]` built here reaches Postgres
 * without any float → text → float trip (the text form was most of the cost of writing a vector).
 * A value that is not finite becomes a NULL element: the offline log's "missing" (JSON had no NaN either).
 */
export function encodeFloat8Array(values: ArrayLike<number>): Buffer {
  let nulls = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) nulls++;
  const out = Buffer.allocUnsafe(20 + 12 * values.length - 8 * nulls);
  header(out, nulls > 0, FLOAT8_OID, values.length);
  let at = 20;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      out.writeInt32BE(8, at);
      out.writeDoubleBE(v, at + 4);
      at += 12;
    } else {
      out.writeInt32BE(-1, at);
      at += 4;
    }
  }
  return out;
}

/** A text[] in binary format: per element its UTF-8 length and bytes, nothing escaped (unlike the text form). */
export function encodeTextArray(values: readonly string[]): Buffer {
  let bytes = 20;
  const lengths = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    lengths[i] = Buffer.byteLength(values[i]);
    bytes += 4 + lengths[i];
  }
  const out = Buffer.allocUnsafe(bytes);
  header(out, false, TEXT_OID, values.length);
  let at = 20;
  for (let i = 0; i < values.length; i++) {
    out.writeInt32BE(lengths[i], at);
    at += 4 + out.write(values[i], at + 4, 'utf8');
  }
  return out;
}

/** An int8[] in binary format (integers within ±2^53, e.g. epoch millis). */
export function encodeInt8Array(values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(20 + 12 * values.length);
  header(out, false, INT8_OID, values.length);
  for (let i = 0, at = 20; i < values.length; i++, at += 12) {
    if (!Number.isSafeInteger(values[i])) throw new Error(`not an integer: ${values[i]}`);
    out.writeInt32BE(8, at);
    out.writeBigInt64BE(BigInt(values[i]), at + 4);
  }
  return out;
}
