// Streams a file as lines of bytes without ever holding more than one line (bounded) in memory.
import { createReadStream } from 'node:fs';

export interface Line {
  /** 1-based line number. */
  number: number;
  /** The line's text, or null when it was not valid UTF-8 or too long. */
  text: string | null;
  /** Why text is null. */
  problem?: string;
  /** Bytes consumed so far (for progress). */
  bytesRead: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Yields every line of a file. A line longer than maxBytes is reported (text null) and its
 * bytes are dropped as they stream past, so a 10 MB line never sits in memory whole.
 */
export async function* readLines(path: string, maxBytes = 1 << 20): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overlong = false;
  let number = 0;
  let bytesRead = 0;
  const finish = (): Line => {
    number++;
    if (overlong) return { number, text: null, problem: `line longer than ${maxBytes} bytes`, bytesRead };
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partBytes);
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--; // CRLF files
    try {
      return { number, text: decoder.decode(buf.subarray(0, end)), bytesRead };
    } catch {
      return { number, text: null, problem: 'invalid UTF-8', bytesRead };
    }
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    bytesRead += chunk.length;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      if (!overlong) {
        if (partBytes + piece.length > maxBytes) {
          overlong = true;
          parts = [];
          partBytes = 0;
        } else if (piece.length) {
          parts.push(Buffer.from(piece));
          partBytes += piece.length;
        }
      }
      if (nl === -1) break;
      yield finish();
      parts = [];
      partBytes = 0;
      overlong = false;
      start = nl + 1;
    }
  }
  if (partBytes > 0 || overlong) yield finish();
}
