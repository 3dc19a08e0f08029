// Streams the elements of a top-level JSON array (CSL-JSON files) without parsing the whole file:
// a small scanner tracks strings and nesting depth and cuts the text of each element.
import { createReadStream } from 'node:fs';

export interface ArrayElement {
  line: number;
  text: string | null;
  problem?: string;
  bytesRead: number;
}

export async function* readJsonArray(path: string, maxBytes = 1 << 20): AsyncGenerator<ArrayElement> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  let line = 1;
  let elemLine = 0;
  let buf: string[] = [];
  let bufLen = 0;
  let overlong = false;
  let bytesRead = 0;
  const flush = (): ArrayElement | null => {
    const text = buf.join('').trim();
    const out: ArrayElement | null = overlong
      ? { line: elemLine, text: null, problem: `array element longer than ${maxBytes} bytes`, bytesRead }
      : text
        ? { line: elemLine, text, bytesRead }
        : null;
    buf = [];
    bufLen = 0;
    overlong = false;
    elemLine = 0;
    return out;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytesRead += chunk.length;
    let s: string;
    try {
      s = decoder.decode(chunk, { stream: true });
    } catch {
      throw new Error(`${path}: invalid UTF-8 near line ${line}`);
    }
    let segStart = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 10) line++;
      if (!started) {
        if (c === 0x5b) {
          started = true;
          depth = 1;
          segStart = i + 1;
        } else if (c > 32) throw new Error(`${path}:${line}: expected a JSON array ('[') at the top level`);
        continue;
      }
      if (depth === 0) {
        if (c > 32) throw new Error(`${path}:${line}: unexpected content after the closing ']'`);
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
        continue;
      }
      if (elemLine === 0 && c > 32 && c !== 0x2c && !(depth === 1 && c === 0x5d)) elemLine = line;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d || (c === 0x2c && depth === 1)) {
        if (c !== 0x2c) depth--;
        if (depth <= 1 && (c === 0x2c || depth === 0)) {
          // an element ends here (',' at depth 1, or the array's closing ']')
          const piece = s.slice(segStart, i);
          if (!overlong) buf.push(piece);
          segStart = i + 1;
          const out = flush();
          if (out) yield out;
          continue;
        }
      }
    }
    if (started && depth > 0) {
      const piece = s.slice(segStart);
      bufLen += piece.length;
      if (bufLen > maxBytes) {
        overlong = true;
        buf = [];
      } else buf.push(piece);
    }
  }
  if (!started) throw new Error(`${path}: empty file, expected a JSON array`);
  if (depth > 0) {
    const out = flush();
    if (out) yield { ...out, text: null, problem: 'file ends inside the array (truncated?)' };
  }
}
