// Running a generation to completion: the text and the stats, for stages that need the whole output.
import type { Engine, GenerateOptions, GenerateStats } from '../engine/types.js';

export interface Generated {
  text: string;
  stats: GenerateStats;
}

/**
 * An instruction-tuned model (one with a chat template) gets the prompt as one user message; the
 * rendered text still starts with the same template header and library, so prompts that share a
 * library still share a token prefix for the prefix cache. Other models complete the plain text.
 */
export async function generateText(engine: Engine, prompt: string, opts: GenerateOptions): Promise<Generated> {
  const stream = engine.generate(engine.info().hasChatTemplate ? [{ role: 'user', content: prompt }] : prompt, opts);
  let text = '';
  for await (const piece of stream) text += piece;
  return { text, stats: await stream.stats };
}
