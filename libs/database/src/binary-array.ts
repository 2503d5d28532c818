/**
 * Postgres' binary format for one-dimensional arrays, both ways: parameters sent as binary (node-postgres sends
 * a Buffer parameter as binary) and array_send() results read back from a bytea. Used by the feature store
 * (writes the offline log) and the batch scorer (reads it).
 */
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

/**
 * Decodes Postgres' binary array format (what `array_send(float8[])` returns, here as a bytea) into `out`:
 * ndim, has-null flag, element oid, then per dimension (size, lower bound), then per element a length
 * (-1 = NULL) and 8 big-endian bytes. A NULL element becomes NaN (JSON, hence the offline log, cannot hold
 * NaN, so NaN always means "missing"). Reading binary spares both sides the float → text → float trip,
 * which dominated the cost of a row (node-postgres has no binary result mode; a bytea arrives hex-decoded).
 */
export function decodeFloat8Array(bytes: Buffer, out: Float64Array): void {
  if (bytes.length < 12) throw new Error(`float8[] value of ${bytes.length} bytes is too short`);
  const ndim = bytes.readInt32BE(0);
  if (ndim === 0 && out.length === 0) return;
  if (ndim !== 1) throw new Error(`expected a one-dimensional float8[], got ${ndim} dimensions`);
  const oid = bytes.readUInt32BE(8);
  if (oid !== FLOAT8_OID) throw new Error(`expected float8 elements (oid ${FLOAT8_OID}), got oid ${oid}`);
  const size = bytes.readInt32BE(12);
  if (size !== out.length) throw new Error(`expected ${out.length} values, got ${size}`);
  if (bytes.readInt32BE(4) === 0) {
    // No NULL element (the usual row): every element is a 4-byte length 8 then the value, at fixed offsets.
    if (bytes.length !== 20 + 12 * size) throw new Error(`float8[] of ${size} values has ${bytes.length} bytes`);
    for (let i = 0, at = 24; i < size; i++, at += 12) out[i] = bytes.readDoubleBE(at);
    return;
  }
  let at = 20;
  for (let i = 0; i < size; i++) {
    const length = bytes.readInt32BE(at);
    at += 4;
    if (length === -1) {
      out[i] = Number.NaN;
    } else {
      out[i] = bytes.readDoubleBE(at);
      at += 8;
    }
  }
}
