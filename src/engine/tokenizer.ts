// The native tokenizer of a GGUF file (SentencePiece-style `llama` or byte-level BPE `gpt2`
// vocabularies), behaving like llama.cpp's: see native/src/vocab.h.
import { loadNative } from './native.js';

export interface TokenizeOptions {
  /** Add BOS/EOS when the model asks for them (tokenizer.ggml.add_bos_token / add_eos_token). Default false. */
  addSpecial?: boolean;
  /** Text equal to a control token (e.g. `<|im_start|>`) becomes that token. Default false. */
  parseSpecial?: boolean;
}

export interface DetokenizeOptions {
  /** Drop a leading BOS / trailing EOS that the model adds itself. Default false. */
  removeSpecial?: boolean;
  /** Render control tokens as their text instead of nothing. Default false. */
  unparseSpecial?: boolean;
}

export interface TokenizerInfo {
  /** tokenizer.ggml.model: 'llama' or 'gpt2'. */
  model: string;
  /** tokenizer.ggml.pre ('default' for a gpt2 vocabulary without one). */
  pre: string;
  nTokens: number;
  bos: number | null;
  eos: number | null;
  eot: number | null;
  eom: number | null;
  unk: number | null;
  pad: number | null;
  /** The token of "\n". */
  nl: number | null;
  /** End-of-generation tokens, ascending. */
  eog: number[];
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
}

/** The addon's class (native/src/napi/tokenizer_napi.cpp). */
export interface NativeTokenizer {
  tokenize(text: string, options?: TokenizeOptions): Int32Array;
  detokenize(ids: Int32Array | Uint32Array | number[], options?: DetokenizeOptions): string;
  tokenToPiece(id: number, special?: boolean): Uint8Array;
  isEog(id: number): boolean;
  info(): TokenizerInfo;
}
export type NativeTokenizerConstructor = new (ggufPath: string) => NativeTokenizer;

export class Tokenizer {
  readonly info: TokenizerInfo;

  private constructor(private readonly native: NativeTokenizer) {
    this.info = native.info();
  }

  /** Reads only the vocabulary of a GGUF file. Throws an Error naming the file and the problem. */
  static load(ggufPath: string): Tokenizer {
    return new Tokenizer(new (loadNative().Tokenizer)(ggufPath));
  }

  tokenize(text: string, options: TokenizeOptions = {}): Int32Array {
    return this.native.tokenize(text, options);
  }

  /** Text of the tokens. Bytes of an incomplete UTF-8 sequence come out as U+FFFD. */
  detokenize(ids: Int32Array | Uint32Array | readonly number[], options: DetokenizeOptions = {}): string {
    return this.native.detokenize(ids instanceof Int32Array || ids instanceof Uint32Array ? ids : Array.from(ids), options);
  }

  /** The bytes a token stands for (possibly part of a UTF-8 sequence). Control tokens give their
   * text unless `special` is false. */
  tokenToPiece(id: number, special = true): Uint8Array {
    return this.native.tokenToPiece(id, special);
  }

  isEog(id: number): boolean {
    return this.native.isEog(id);
  }
}
