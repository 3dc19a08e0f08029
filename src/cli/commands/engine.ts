// `litsurvey engine …`: commands that drive the native engine directly.
// Each subcommand is a Command in `subcommands`; add new ones there.
import { parseArgs } from 'node:util';

import { UsageError, type Command } from '../command.js';
import { formatGgufSummary, summarizeGguf } from '../../engine/gguf-info.js';
import { native } from '../../engine/native.js';
import { generateSubcommand } from './engine-generate.js';

/** parseArgs, with its errors (unknown flag, missing value) turned into UsageErrors. */
function parseOptions<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const info: Command = {
  name: 'info',
  summary: 'Show a GGUF model file: architecture, shape, tensor types, tokenizer',
  help: `Usage: litsurvey engine info FILE [--json]

Reads the header, metadata and tensor table of a GGUF file (v2 or v3) and prints the
architecture, the model shape (layers, hidden size, heads, kv heads, head dim, ffn, vocab,
context length), tensor types with counts, the parameter count, the tokenizer and whether
a chat template is present. A damaged file is reported with what is wrong (exit status 1).

Options:
  --json   print the summary as JSON
  -h, --help

Example:
  litsurvey engine info models/minicpm4-0.5b-q8_0.gguf`,
  run: async (args) => {
    const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      console.log(info.help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('engine info takes exactly one FILE');
    const file = positionals[0];
    let summary;
    try {
      summary = summarizeGguf(file, native.ggufInspect(file));
    } catch (err) {
      console.error(`error: ${(err as Error).message}`);
      return 1;
    }
    console.log(values.json ? JSON.stringify(summary, null, 2) : formatGgufSummary(summary));
    return 0;
  },
};

export const command: Command = {
  name: 'engine',
  summary: 'Native engine tools (inspect model files)',
  help: `Usage: litsurvey engine <subcommand> [options]

Subcommands:
  info FILE   show a GGUF model file's architecture, shape, tensors and tokenizer
  generate    stream a completion from a model (--model FILE "prompt")

Run litsurvey engine <subcommand> --help for details.`,
  subcommands: [info, generateSubcommand],
};
