const FLOAT8_OID = 701;

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

/** The inverse (what array_send returns for a float8[]; null → NULL element), for tests and fixtures. */
export function encodeFloat8Array(values: (number | null)[], oid = 701): Buffer {
  const parts = [Buffer.alloc(20)];
  parts[0].writeInt32BE(1, 0);
  parts[0].writeInt32BE(values.includes(null) ? 1 : 0, 4);
  parts[0].writeUInt32BE(oid, 8);
  parts[0].writeInt32BE(values.length, 12);
  parts[0].writeInt32BE(1, 16);
  for (const v of values) {
    const element = Buffer.alloc(v === null ? 4 : 12);
    element.writeInt32BE(v === null ? -1 : 8, 0);
    if (v !== null) element.writeDoubleBE(v, 4);
    parts.push(element);
  }
  return Buffer.concat(parts);
}
