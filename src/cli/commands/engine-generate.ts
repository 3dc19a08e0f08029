// `litsurvey engine generate`: stream a completion from a GGUF model with the native engine,
// then report prefill and decode speed on stderr.
import { parseArgs } from 'node:util';

import { UsageError, type Command } from '../command.js';
import { NativeEngine } from '../../engine/engine.js';

function number(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} needs ${integer ? 'an integer' : 'a number'}, got "${value}"`);
  }
  return n;
}

export const generateSubcommand: Command = {
  name: 'generate',
  summary: 'Stream a completion from a GGUF model with the native engine',
  help: `Usage: litsurvey engine generate --model FILE "prompt" [options]

Loads the model, streams the completion of the prompt to stdout, and ends with the prompt
(prefill) and generation (decode) speeds in tokens/s on stderr, and where the time went (weight
matmuls, attention, sparse attention's block selection, the rest). Ctrl-C stops generation.

Options:
  --model FILE        GGUF model file (required)
  --chat              treat the prompt as a user message and apply the model's chat template
  --max-tokens N      tokens to generate at most (default 256)
  --temperature T     sampling temperature; 0 = greedy (default 0.8)
  --seed S            random seed (default 0)
  --threads N         compute threads (default 2)
  --context N         positions to allocate (default: the model's training context, capped at 4096)
  --sparse            InfLLM v2 block-sparse attention, also for models that do not declare it
                      (dense below 8192 tokens; models that declare it use it anyway)
  -h, --help

Example:
  litsurvey engine generate --model models/minicpm4-0.5b-q8_0.gguf --chat "Define retrieval-augmented generation."`,
  run: async (args) => {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          model: { type: 'string' },
          chat: { type: 'boolean' },
          'max-tokens': { type: 'string' },
          temperature: { type: 'string' },
          seed: { type: 'string' },
          threads: { type: 'string' },
          context: { type: 'string' },
          sparse: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      console.log(generateSubcommand.help);
      return 0;
    }
    if (!values.model) throw new UsageError('engine generate needs --model FILE');
    if (positionals.length !== 1) throw new UsageError('engine generate takes exactly one prompt');
    const maxTokens = number(values['max-tokens'], '--max-tokens', true);
    const temperature = number(values.temperature, '--temperature', false);
    const seed = number(values.seed, '--seed', true);
    const threads = number(values.threads, '--threads', true);
    const contextSize = number(values.context, '--context', true);
    if (contextSize !== undefined && (contextSize < 1 || contextSize > 1 << 20)) throw new UsageError('--context must be in 1..1048576');

    let engine: NativeEngine;
    try {
      engine = await NativeEngine.load(values.model, { threads, contextSize, ...(values.sparse ? { sparse: true } : {}) });
    } catch (err) {
      console.error(`error: ${(err as Error).message}`);
      return 1;
    }
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const prompt = positionals[0];
      const stream = engine.generate(values.chat ? [{ role: 'user', content: prompt }] : prompt, {
        maxTokens, temperature, seed, signal: controller.signal,
      });
      try {
        for await (const piece of stream) process.stdout.write(piece);
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
      process.stdout.write('\n');
      const stats = await stream.stats;
      const rate = (tokens: number, ms: number) => (ms > 0 ? ((tokens * 1000) / ms).toFixed(1) : '-');
      console.error(
        `prefill: ${stats.promptTokens} tokens, ${rate(stats.promptTokens, stats.prefillMs)} tokens/s; ` +
          `decode: ${stats.generatedTokens} tokens, ${rate(stats.generatedTokens, stats.decodeMs)} tokens/s (${stats.stopReason})`,
      );
      // The engine was loaded for this call, so its phase times are this generation's.
      const phases = engine.stats().phaseMs;
      const total = phases.matmul + phases.selection + phases.attention + phases.other;
      const part = (name: string, ms: number) =>
        `${name} ${ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`} (${total > 0 ? Math.round((100 * ms) / total) : 0}%)`;
      console.error(
        `time by phase: ${part('matmuls', phases.matmul)}, ${part('attention', phases.attention)}, ` +
          `${part('block selection', phases.selection)}, ${part('other', phases.other)}`,
      );
      return 0;
    } catch (err) {
      console.error(`error: ${(err as Error).message}`);
      return 1;
    } finally {
      process.off('SIGINT', onSigint);
      await engine.close();
    }
  },
};
