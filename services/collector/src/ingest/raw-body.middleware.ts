import type { NextFunction, Request, Response } from 'express';

/** The request body as bytes, set by captureRawBody (still compressed when Content-Encoding is gzip). */
export type RequestWithRawBody = Request & { rawBody?: Buffer };

/**
 * Reads POST bodies as raw bytes, never more than `maxBytes`. It is mounted before Nest's JSON parser
 * (which would otherwise parse application/json with its own 100 kB limit), and a fully read request
 * makes that parser skip it. Too large → 413 at once, and the connection is closed rather than drained,
 * so a client cannot make us read gigabytes.
 */
export function captureRawBody(maxBytes: number, onTooLarge: () => void) {
  return (req: RequestWithRawBody, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const tooLarge = () => {
      onTooLarge();
      res.setHeader('Connection', 'close');
      res.status(413).json({ error: 'too-large', message: `body is larger than ${maxBytes} bytes` });
      res.once('finish', () => req.destroy());
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        req.off('data', onData);
        req.pause();
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      req.rawBody = Buffer.concat(chunks, size);
      next();
    });
    // A client that goes away mid-body gets no answer; there is no one to send it to.
    req.once('error', () => {
      done = true;
    });
  };
}
