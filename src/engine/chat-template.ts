// Chat prompts from a model's Jinja chat template (`tokenizer.chat_template` in GGUF,
// `chat_template` in a Hugging Face tokenizer_config.json), rendered with @huggingface/jinja
// the way transformers' apply_chat_template does.
import { Template } from '@huggingface/jinja';

import { loadNative } from './native.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface ChatRenderOptions {
  /** End with the opening of an assistant turn, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** Further variables the template may read. */
  variables?: Record<string, unknown>;
}

export interface ChatTokens {
  /** Text of the BOS / EOS tokens, exposed to the template as bos_token / eos_token. */
  bosToken?: string;
  eosToken?: string;
}

export class ChatTemplate {
  private readonly template: Template;

  /** Parses the template; a syntax error is thrown as an Error that says so. */
  constructor(
    readonly source: string,
    private readonly tokens: ChatTokens = {},
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`invalid chat template: ${(e as Error).message}`, { cause: e });
    }
  }

  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    try {
      return this.template.render({
        ...options.variables,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: options.addGenerationPrompt ?? true,
        bos_token: this.tokens.bosToken ?? '',
        eos_token: this.tokens.eosToken ?? '',
      });
    } catch (e) {
      throw new Error(`chat template failed to render: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The chat template stored in a GGUF file (null when it has none), with the BOS/EOS texts of
 * its tokenizer. */
export function loadChatTemplate(ggufPath: string, tokenizer: Tokenizer): ChatTemplate | null {
  const source = loadNative().ggufInspect(ggufPath).metadata['tokenizer.chat_template'];
  if (source === undefined) return null;
  if (typeof source !== 'string') throw new Error(`${ggufPath}: tokenizer.chat_template is not a string`);
  const text = (id: number | null) => (id === null ? undefined : new TextDecoder().decode(tokenizer.tokenToPiece(id)));
  return new ChatTemplate(source, { bosToken: text(tokenizer.info.bos), eosToken: text(tokenizer.info.eos) });
}
