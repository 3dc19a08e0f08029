// A model file's summary for `litsurvey engine info`: architecture, shape, tensor types,
// tokenizer and chat template, read from the native GGUF inspection.
import type { GgufInspection, GgufMetadataValue } from './native.js';

export interface ModelShape {
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  ffn?: number;
  vocab?: number;
  context?: number;
}

export interface GgufSummary {
  file: string;
  fileSize: number;
  version: number;
  alignment: number;
  architecture?: string;
  name?: string;
  shape: ModelShape;
  tensorCount: number;
  /** Tensor type name → number of tensors of that type, most frequent first. */
  tensorTypes: Record<string, number>;
  parameters: number;
  tokenizer: { model?: string; pre?: string; tokens?: number };
  /** First line of tokenizer.chat_template, or null when the file has none. */
  chatTemplate: string | null;
}

function asNumber(v: GgufMetadataValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  // Per-layer values (e.g. head counts that vary by layer): report the first.
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

function asString(v: GgufMetadataValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function arrayLength(v: GgufMetadataValue | undefined): number | undefined {
  if (Array.isArray(v)) return v.length;
  if (v !== null && typeof v === 'object') return v.length;
  return undefined;
}

export function summarizeGguf(file: string, g: GgufInspection): GgufSummary {
  const md = g.metadata;
  const arch = asString(md['general.architecture']);
  const archKey = (suffix: string) => (arch === undefined ? undefined : asNumber(md[`${arch}.${suffix}`]));
  const tokens = arrayLength(md['tokenizer.ggml.tokens']);
  const hidden = archKey('embedding_length');
  const heads = archKey('attention.head_count');
  const shape: ModelShape = {
    layers: archKey('block_count'),
    hidden,
    heads,
    kvHeads: archKey('attention.head_count_kv') ?? heads,
    headDim: archKey('attention.key_length') ?? (hidden !== undefined && heads ? hidden / heads : undefined),
    ffn: archKey('feed_forward_length'),
    vocab: archKey('vocab_size') ?? tokens,
    context: archKey('context_length'),
  };

  const counts = new Map<string, number>();
  let parameters = 0;
  for (const t of g.tensors) {
    counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
    parameters += t.elements;
  }
  const tensorTypes = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

  const template = asString(md['tokenizer.chat_template']);
  return {
    file,
    fileSize: g.fileSize,
    version: g.version,
    alignment: g.alignment,
    architecture: arch,
    name: asString(md['general.name']),
    shape,
    tensorCount: g.tensors.length,
    tensorTypes,
    parameters,
    tokenizer: { model: asString(md['tokenizer.ggml.model']), pre: asString(md['tokenizer.ggml.pre']), tokens },
    chatTemplate: template === undefined ? null : (template.split('\n').find((line) => line.trim() !== '') ?? ''),
  };
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The human-readable report, one fact a line. */
export function formatGgufSummary(s: GgufSummary): string {
  const show = (v: number | undefined) => (v === undefined ? '?' : String(v));
  const shape = s.shape;
  const types = Object.entries(s.tensorTypes).map(([type, n]) => `${type} ${n}`).join(', ');
  const tok = s.tokenizer;
  const rows: [string, string][] = [
    ['file', `${s.file} (${humanBytes(s.fileSize)}, GGUF v${s.version}, alignment ${s.alignment})`],
    ['architecture', (s.architecture ?? '(none)') + (s.name ? ` — ${s.name}` : '')],
    [
      'shape',
      `layers ${show(shape.layers)}, hidden ${show(shape.hidden)}, heads ${show(shape.heads)}, ` +
        `kv heads ${show(shape.kvHeads)}, head dim ${show(shape.headDim)}, ffn ${show(shape.ffn)}, ` +
        `vocab ${show(shape.vocab)}, context ${show(shape.context)}`,
    ],
    ['tensors', s.tensorCount === 0 ? '0 (vocabulary only)' : `${s.tensorCount} (${types})`],
    ['parameters', `${humanCount(s.parameters)} (${s.parameters})`],
    [
      'tokenizer',
      tok.model === undefined
        ? '(none)'
        : `${tok.model}${tok.pre ? ` (pre: ${tok.pre})` : ''}, ${show(tok.tokens)} tokens`,
    ],
    ['chat template', s.chatTemplate === null ? 'no' : `yes: ${clip(s.chatTemplate, 100)}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
