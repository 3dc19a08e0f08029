// A Hugging Face model folder's tokenizer as GGUF `tokenizer.*` metadata, following what
// llama.cpp's converter writes:
// - tokenizer.model (SentencePiece) → `llama` tokenizer: every id below config.json's vocab_size
//   gets a piece (missing ids become "[PAD<id>]", unused); pieces of type unknown/control/unused/byte
//   keep that type, all others are normal; ids in added_tokens.json become user-defined (score
//   -1000); entries of tokenizer_config.json's added_tokens_decoder become control tokens when
//   marked special (or shaped like "<|…|>"), user-defined otherwise. Unlike llama.cpp's
//   converter we also honour the model's normalizer: add_dummy_prefix = false (MiniCPM4) is
//   written as tokenizer.ggml.add_space_prefix = false, which makes llama.cpp tokenize exactly
//   as the SentencePiece library does (no leading "▁" on the first word).
// - tokenizer.json with a BPE model → `gpt2` tokenizer (tokens, merges, pre-tokenizer name).
// Special token ids are resolved by content through every source (added_tokens_decoder,
// added_tokens.json, tokenizer.json's added_tokens, the vocabulary itself), then config.json's
// `<type>_token_id` when it is a single integer. Also: add_bos/add_eos flags and the chat template.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GgufValue, gguf } from './gguf-value.js';
import { PieceType, parseSentencePieceModel } from './sentencepiece-model.js';
import { readJsonFile } from './shapes.js';
import type { Vocab } from './vocab.js';

type Json = Record<string, unknown>;

const SPECIAL_TYPES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
const SPECIAL_KEYS: Record<(typeof SPECIAL_TYPES)[number], string> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id', // sic: llama.cpp's key name
  pad: 'tokenizer.ggml.padding_token_id',
  cls: 'tokenizer.ggml.cls_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
};

function optionalJson(dir: string, name: string): Json | undefined {
  const file = join(dir, name);
  return existsSync(file) ? readJsonFile(file) : undefined;
}

function looksSpecial(token: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token) ||
    (token.startsWith('<|') && token.endsWith('|>')) ||
    (token.startsWith('<｜') && token.endsWith('｜>'))
  );
}

function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as Json).content === 'string') return (entry as Json).content as string;
  return undefined;
}

function checkedId(v: unknown, size: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${what}: token id must be a non-negative integer, got ${JSON.stringify(v)}`);
  if (v >= size) throw new Error(`${what}: token id ${v} is outside the vocabulary (size ${size})`);
  return v;
}

interface HfTokenizerFiles {
  dir: string;
  config: Json;
  tokenizerConfig: Json;
  specialTokensMap: Json;
  addedTokensJson: Json;
  tokenizerJson?: Json;
}

function readFiles(dir: string): HfTokenizerFiles {
  return {
    dir,
    config: optionalJson(dir, 'config.json') ?? {},
    tokenizerConfig: optionalJson(dir, 'tokenizer_config.json') ?? {},
    specialTokensMap: optionalJson(dir, 'special_tokens_map.json') ?? {},
    addedTokensJson: optionalJson(dir, 'added_tokens.json') ?? {},
    tokenizerJson: optionalJson(dir, 'tokenizer.json'),
  };
}

/** Writes special ids, add_* flags and the chat template into `m`. */
function addSpecials(m: Map<string, GgufValue>, f: HfTokenizerFiles, tokens: string[]): void {
  const byContent = new Map<string, number>();
  tokens.forEach((t, i) => { if (!byContent.has(t)) byContent.set(t, i); });
  const tj = f.tokenizerJson?.added_tokens;
  if (Array.isArray(tj)) {
    for (const a of tj) {
      const c = tokenContent(a);
      if (c !== undefined && typeof (a as Json).id === 'number') byContent.set(c, checkedId((a as Json).id, tokens.length, 'tokenizer.json added_tokens'));
    }
  }
  for (const [c, id] of Object.entries(f.addedTokensJson)) byContent.set(c, checkedId(id, tokens.length, `added_tokens.json "${c}"`));
  const decoder = f.tokenizerConfig.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [id, entry] of Object.entries(decoder as Json)) {
      const c = tokenContent(entry);
      if (c !== undefined) byContent.set(c, checkedId(Number(id), tokens.length, `tokenizer_config.json added_tokens_decoder "${id}"`));
    }
  }
  for (const typ of SPECIAL_TYPES) {
    let id: number | undefined;
    for (const source of [f.tokenizerConfig[`${typ}_token`], f.specialTokensMap[`${typ}_token`]]) {
      const content = tokenContent(source);
      if (content !== undefined && byContent.has(content)) {
        id = byContent.get(content);
        break;
      }
    }
    const configId = f.config[`${typ}_token_id`];
    if (id === undefined && typeof configId === 'number') id = checkedId(configId, tokens.length, `config.json ${typ}_token_id`);
    if (id !== undefined) m.set(SPECIAL_KEYS[typ], gguf.u32(id));
  }
  for (const typ of SPECIAL_TYPES) {
    const flag = f.tokenizerConfig[`add_${typ}_token`];
    if (typeof flag === 'boolean') m.set(`tokenizer.ggml.add_${typ}_token`, gguf.bool(flag));
  }
  let template = f.tokenizerConfig.chat_template;
  const jinja = join(f.dir, 'chat_template.jinja');
  if (template === undefined && existsSync(jinja)) template = readFileSync(jinja, 'utf8');
  if (typeof template === 'string') m.set('tokenizer.chat_template', gguf.string(template));
}

function sentencePieceVocab(f: HfTokenizerFiles, modelPath: string): Vocab {
  const model = parseSentencePieceModel(readFileSync(modelPath), modelPath);
  if (model.modelType !== 1 && model.modelType !== 2) {
    throw new Error(`${modelPath}: SentencePiece model type ${model.modelType} is not supported (unigram or BPE only)`);
  }
  const configSize = f.config.vocab_size;
  const size = typeof configSize === 'number' && Number.isSafeInteger(configSize) && configSize > 0 ? configSize : model.pieces.length;
  if (size > 1 << 24) throw new Error(`vocab_size ${size} is implausibly large`);
  const tokens: string[] = [];
  const scores = new Float32Array(size).fill(-10000);
  const types = new Int32Array(size).fill(PieceType.UNUSED);
  for (let i = 0; i < size; i++) tokens.push(`[PAD${i}]`);
  const keep = new Set<number>([PieceType.UNKNOWN, PieceType.CONTROL, PieceType.UNUSED, PieceType.BYTE]);
  for (let i = 0; i < Math.min(size, model.pieces.length); i++) {
    const p = model.pieces[i];
    tokens[i] = p.piece;
    scores[i] = p.score;
    types[i] = keep.has(p.type) ? p.type : PieceType.NORMAL;
  }
  for (const [content, id] of Object.entries(f.addedTokensJson)) {
    const i = checkedId(id, size, `added_tokens.json "${content}"`);
    tokens[i] = content;
    scores[i] = -1000;
    types[i] = PieceType.USER_DEFINED;
  }
  const decoder = f.tokenizerConfig.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [idText, entry] of Object.entries(decoder as Json)) {
      const i = checkedId(Number(idText), size, `tokenizer_config.json added_tokens_decoder "${idText}"`);
      let content = tokenContent(entry);
      if (content === undefined) throw new Error(`tokenizer_config.json added_tokens_decoder "${idText}" has no content`);
      if ((entry as Json).special === true || looksSpecial(content)) {
        types[i] = PieceType.CONTROL;
      } else {
        content = content.replaceAll('\u2581', ' '); // user-defined tokens are matched on normalized text
        types[i] = PieceType.USER_DEFINED;
      }
      scores[i] = -1000;
      tokens[i] = content;
    }
  }
  const m = new Map<string, GgufValue>();
  m.set('tokenizer.ggml.model', gguf.string('llama'));
  m.set('tokenizer.ggml.pre', gguf.string('default'));
  m.set('tokenizer.ggml.tokens', gguf.array('string', tokens));
  m.set('tokenizer.ggml.scores', gguf.array('f32', scores));
  m.set('tokenizer.ggml.token_type', gguf.array('i32', types));
  if (!model.addDummyPrefix) m.set('tokenizer.ggml.add_space_prefix', gguf.bool(false));
  addSpecials(m, f, tokens);
  return { metadata: m, size };
}

// Split regexes of the BPE families we recognise, as they appear in tokenizer.json.
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Every pre-tokenizer `type` and Split regex in a tokenizer.json pre_tokenizer tree. */
function preTokenizerParts(node: unknown, types: string[], regexes: string[]): void {
  if (Array.isArray(node)) {
    for (const n of node) preTokenizerParts(n, types, regexes);
  } else if (node && typeof node === 'object') {
    const o = node as Json;
    if (typeof o.type === 'string') types.push(o.type);
    const pattern = o.pattern as Json | undefined;
    if (pattern && typeof pattern.Regex === 'string') regexes.push(pattern.Regex);
    if (o.pretokenizers) preTokenizerParts(o.pretokenizers, types, regexes);
  }
}

/**
 * llama.cpp names BPE pre-tokenizers by model family and recognises them by hashing a test
 * tokenization, which needs the real tokenizer library; we recognise the split regexes instead.
 */
function bpePreTokenizer(tj: Json, source: string): string {
  const types: string[] = [];
  const regexes: string[] = [];
  preTokenizerParts(tj.pre_tokenizer, types, regexes);
  if (regexes.includes(LLAMA3_SPLIT)) return 'llama-bpe';
  if (regexes.includes(QWEN2_SPLIT)) return 'qwen2';
  if (regexes.length === 0 && types.includes('ByteLevel')) return 'gpt-2';
  throw new Error(`${source}: unrecognised BPE pre-tokenizer; only the GPT-2, Llama 3 and Qwen2 families are supported`);
}

function bpeVocab(f: HfTokenizerFiles, source: string): Vocab {
  const tj = f.tokenizerJson!;
  const model = tj.model as Json | undefined;
  if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || model.vocab === null) {
    throw new Error(`${source}: expected a BPE model with a vocab`);
  }
  const entries = Object.entries(model.vocab as Json);
  const added = Array.isArray(tj.added_tokens) ? (tj.added_tokens as Json[]) : [];
  let size = 0;
  for (const [, id] of entries) size = Math.max(size, checkedId(id, 1 << 24, `${source} vocab`) + 1);
  for (const a of added) size = Math.max(size, checkedId(a.id, 1 << 24, `${source} added_tokens`) + 1);
  const configSize = f.config.vocab_size;
  if (typeof configSize === 'number' && Number.isSafeInteger(configSize) && configSize > size) size = configSize;
  const tokens: string[] = new Array(size);
  const types = new Int32Array(size).fill(PieceType.UNUSED);
  for (let i = 0; i < size; i++) tokens[i] = `[PAD${i}]`;
  for (const [t, id] of entries) {
    tokens[id as number] = t;
    types[id as number] = PieceType.NORMAL;
  }
  for (const a of added) {
    const content = tokenContent(a);
    if (content === undefined) continue;
    tokens[a.id as number] = content;
    types[a.id as number] = a.special === true || looksSpecial(content) ? PieceType.CONTROL : PieceType.USER_DEFINED;
  }
  const merges = Array.isArray(model.merges)
    ? (model.merges as unknown[]).map((mg, i) => {
        if (typeof mg === 'string') return mg;
        if (Array.isArray(mg) && mg.length === 2 && typeof mg[0] === 'string' && typeof mg[1] === 'string') {
          // A space inside a merge part is written as U+0120-style shifted char, as llama.cpp does.
          const enc = (s: string): string => s.replaceAll(' ', String.fromCharCode(32 + 256));
          return `${enc(mg[0])} ${enc(mg[1])}`;
        }
        throw new Error(`${source}: merge ${i} has an unknown format`);
      })
    : [];
  const m = new Map<string, GgufValue>();
  m.set('tokenizer.ggml.model', gguf.string('gpt2'));
  m.set('tokenizer.ggml.pre', gguf.string(bpePreTokenizer(tj, source)));
  m.set('tokenizer.ggml.tokens', gguf.array('string', tokens));
  m.set('tokenizer.ggml.token_type', gguf.array('i32', types));
  m.set('tokenizer.ggml.merges', gguf.array('string', merges));
  addSpecials(m, f, tokens);
  return { metadata: m, size };
}

/** The tokenizer of a Hugging Face model folder (tokenizer.model preferred, else tokenizer.json). */
export function vocabFromHfDir(dir: string): Vocab {
  const f = readFiles(dir);
  const spm = join(dir, 'tokenizer.model');
  if (existsSync(spm)) return sentencePieceVocab(f, spm);
  if (f.tokenizerJson) return bpeVocab(f, join(dir, 'tokenizer.json'));
  throw new Error(`${dir}: no tokenizer.model or tokenizer.json`);
}
