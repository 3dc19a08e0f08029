// Types of the sampling bindings (native/src/napi/sampler_napi.cpp). The same option names are
// read by the native generate call, so TS code passes one SamplingOptions object everywhere.

/** The llama.cpp-style chain: penalties → top-k → top-p → min-p → temperature → draw. */
export interface SamplingOptions {
  /** <= 0: greedy (argmax, ties → lowest id). Default 0.8. */
  temperature?: number;
  /** <= 0: off. Default 40. */
  topK?: number;
  /** >= 1: off; must be > 0. Default 0.95. */
  topP?: number;
  /** 0: off; at most 1. Default 0.05. */
  minP?: number;
  /** Positive logits of recent tokens are divided by it, negative ones multiplied. Default 1 (off). */
  repeatPenalty?: number;
  /** Window of accepted tokens the penalties look at; 0 turns penalties off. Default 64. */
  repeatLastN?: number;
  /** Subtracted once per occurrence in the window. Default 0. */
  frequencyPenalty?: number;
  /** Subtracted once if present in the window. Default 0. */
  presencePenalty?: number;
  /** PRNG seed (a safe integer or a 64-bit BigInt). Default 0. */
  seed?: number | bigint;
}

/**
 * The JSON Schema subset the constraint enforces byte by byte: type (object, array, string, number,
 * integer, boolean, null, or a list), properties, required, additionalProperties (boolean),
 * items (one schema), minItems, maxItems. Annotations (title, description, …) are ignored; any
 * other keyword is an error.
 */
export interface JsonSchemaSubset {
  type?: JsonTypeName | JsonTypeName[];
  properties?: Record<string, JsonSchemaSubset>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchemaSubset;
  minItems?: number;
  maxItems?: number;
  title?: string;
  description?: string;
}
export type JsonTypeName = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface JsonConstraintLimits {
  /** Consecutive whitespace bytes outside strings. Default 8. */
  maxWhitespaceRun?: number;
  /** Nested objects/arrays (raised if the schema needs more). Default 32. */
  maxDepth?: number;
  /** Bytes of one number. Default 32. */
  maxNumberBytes?: number;
}

export interface NativeSampler {
  /** Draws a token id; the logits are copied, not modified. */
  sample(logits: Float32Array): number;
  /** Records a token for the penalty window. */
  accept(id: number): void;
  /** Forgets accepted tokens and re-seeds: the same calls then repeat exactly. */
  reset(): void;
}

export interface NativeJsonConstraint {
  /** Sets -Infinity on every id not allowed now (ids past the vocabulary too); returns the allowed count. */
  mask(logits: Float32Array): number;
  allowedIds(): Int32Array;
  allowed(id: number): boolean;
  /** Throws when the token is not allowed. */
  accept(id: number): void;
  /** The output is a complete JSON value (EOS allowed), or EOS was accepted. */
  done(): boolean;
  /** EOS was accepted. */
  finished(): boolean;
}

export interface SamplingBindings {
  samplerSample(logits: Float32Array, options?: SamplingOptions, history?: Int32Array | number[]): number;
  Sampler: new (options?: SamplingOptions) => NativeSampler;
  /** pieces[id] = the token's bytes (a string is UTF-8 encoded); control tokens as empty pieces. */
  JsonConstraint: new (
    pieces: (string | Uint8Array)[],
    eosIds: Int32Array | number[],
    schema?: JsonSchemaSubset | string,
    limits?: JsonConstraintLimits,
  ) => NativeJsonConstraint;
}
