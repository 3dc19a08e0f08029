// The interface every text-generation backend implements: the native engine (engine.ts) and,
// later, an OpenAI-compatible HTTP backend. Pipeline code depends on this, not on a backend.
import type { ChatMessage } from './chat-template.js';

export type { ChatMessage };

export interface GenerateOptions {
  /** Tokens to generate at most. Default 256. */
  maxTokens?: number;
  /** <= 0 → greedy. Default 0.8. */
  temperature?: number;
  /** <= 0 → off. Default 40. */
  topK?: number;
  /** >= 1 → off. Default 0.95. */
  topP?: number;
  /** <= 0 → off. Default 0.05. */
  minP?: number;
  /** 1 → off. Default 1. */
  repeatPenalty?: number;
  seed?: number;
  /** Generation ends before the first occurrence of any of these; they are not output. */
  stop?: string[];
  /** Constrain the output to JSON: `true` for any value, or a JSON schema (object). */
  json?: boolean | Record<string, unknown>;
  /**
   * Never sample an end-of-generation token, so generation runs to `maxTokens` (or a stop string,
   * or the context's end): for benchmarks that need a fixed output length. Not with `json`.
   */
  ignoreEos?: boolean;
  /** Aborting ends the stream: the iterator throws the signal's reason. */
  signal?: AbortSignal;
}

export interface GenerateStats {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** 'eog' | 'length' | 'stop' | 'cancelled' | 'context' */
  stopReason: string;
  /** Prompt tokens served from a prefix cache, when the backend reports it. */
  cachedTokens?: number;
}

/** Text pieces as they are generated; `stats` resolves when generation has ended. */
export interface GenerateStream extends AsyncIterable<string> {
  readonly stats: Promise<GenerateStats>;
}

export interface ScoreResult {
  /** Sum of the natural-log probabilities of the continuation's tokens. */
  total: number;
  perToken: number[];
}

export interface EngineInfo {
  backend: string;
  model: string;
  architecture: string;
  contextSize: number;
  embeddingLength: number;
  /** Whether chat messages can be rendered (the model has a chat template, or the backend renders them). */
  hasChatTemplate?: boolean;
  [key: string]: unknown;
}

export interface Engine {
  /** A plain prompt is completed as is; messages are rendered with the model's chat template. */
  generate(promptOrMessages: string | readonly ChatMessage[], opts?: GenerateOptions): GenerateStream;
  /** Log-probability of `continuation` following `prompt`. */
  score(prompt: string, continuation: string): Promise<ScoreResult>;
  /** One L2-normalised vector per text. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Tokens `text` takes inside a prompt (no BOS/EOS); backends without a tokenizer estimate conservatively. */
  countTokens(text: string): Promise<number>;
  info(): EngineInfo;
  close(): Promise<void>;
}
