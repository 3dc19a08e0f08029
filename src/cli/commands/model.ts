// `litsurvey model synth|convert`: write GGUF model files.
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../command.js';
import { parseWeightType } from '../../engine/modelfile/ggml-types.js';
import { parseArchitecture } from '../../engine/modelfile/shapes.js';
import { synthModel } from '../../engine/modelfile/synth.js';
import { CONVERT_TYPES, convertHfModel } from '../../engine/modelfile/convert.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** Runs `body`, turning node:util parseArgs errors (unknown or malformed flags) into usage errors. */
async function parseErrorsAsUsage(body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof TypeError && String((e as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(e.message);
    }
    throw e;
  }
}

function intOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

const synthHelp = `Usage: litsurvey model synth [options] OUT.gguf

Write a GGUF model with a real vocabulary and seeded random weights (llama.cpp tensor names),
for parity tests against llama.cpp and speed benchmarks. Same seed → same weights for every type.

Options:
  --arch NAME      llama | minicpm | qwen2 | qwen3 (default llama; taken from the config for a
                   config.json shape)
  --type TYPE      f32 | f16 | bf16 | q8_0 | q4_0 | q4_k | q4_k_m | q6_k (default f32). 1-D tensors
                   stay F32; a matrix whose row length is not a whole number of blocks falls back
                   to Q8_0/F16. q4_k_m is llama.cpp's mix: Q4_K, with Q6_K for the output
                   projection and for attn_v/ffn_down in some layers
  --shape SHAPE    tiny (hidden 64, 2 layers, 4 heads, 2 KV heads, ffn 128)
                   tiny-k (hidden 256, ffn 512, head dim 64: every row fits the 256-element K-quant
                   blocks; the default for q4_k, q4_k_m and q6_k)
                   minicpm4-0.5b (the real MiniCPM4-0.5B config and tokenizer from shared/)
                   PATH/config.json (a Hugging Face config; tokenizer.model beside it is used)
  --vocab FILE     vocabulary: a GGUF file (tokenizer.* keys copied) or a Hugging Face folder.
                   Default: ggml-vocab-llama-spm.gguf (llama, minicpm), ggml-vocab-gpt-2.gguf (qwen)
  --layers N       override the number of layers
  --seed S         PRNG seed (default 1)
  --tied           no output.weight: the output projection shares token_embd
  --rope-factors   write synthetic LongRoPE factors as rope_freqs.weight (llama, minicpm); a
                   config.json shape with LongRoPE scaling (minicpm4-0.5b) always has its own
  -h, --help       show this help

Examples:
  litsurvey model synth --arch llama --type f32 /tmp/llama-f32.gguf
  litsurvey model synth --arch qwen3 --type q6_k /tmp/qwen3-q6k.gguf
  litsurvey model synth --shape minicpm4-0.5b --type q8_0 /tmp/minicpm4-q8.gguf
`;

const synth: Command = {
  name: 'synth',
  summary: 'write a GGUF model with a real vocabulary and seeded random weights',
  help: synthHelp,
  run: (args) =>
    parseErrorsAsUsage(() => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          arch: { type: 'string' },
          type: { type: 'string', default: 'f32' },
          shape: { type: 'string' },
          vocab: { type: 'string' },
          layers: { type: 'string' },
          seed: { type: 'string' },
          tied: { type: 'boolean' },
          'rope-factors': { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) {
        process.stdout.write(synthHelp);
        return 0;
      }
      if (positionals.length !== 1) throw new UsageError('model synth: expected exactly one output file (OUT.gguf)');
      let arch;
      let type;
      try {
        arch = values.arch === undefined ? undefined : parseArchitecture(values.arch);
        type = parseWeightType(values.type!);
      } catch (e) {
        throw new UsageError(`model synth: ${(e as Error).message}`);
      }
      const started = Date.now();
      const result = synthModel({
        out: positionals[0],
        arch,
        type,
        shape: values.shape,
        vocab: values.vocab,
        layers: intOption(values.layers, '--layers'),
        seed: intOption(values.seed, '--seed'),
        tied: values.tied,
        ropeFactors: values['rope-factors'],
        log,
      });
      log(`wrote ${result.path}: ${result.tensors.length} tensors, ${mib(result.bytes)}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }),
};

const convertHelp = `Usage: litsurvey model convert [options] DIR OUT.gguf

Convert a Hugging Face checkpoint folder (LlamaForCausalLM or MiniCPMForCausalLM) to GGUF.
DIR must hold config.json, *.safetensors (F32/F16/BF16) and tokenizer.model or tokenizer.json;
tokenizer_config.json, special_tokens_map.json and added_tokens.json are used when present.
Q/K projection rows are permuted for llama.cpp's RoPE layout; MiniCPM's scales, LongRoPE factors
(rope_freqs.weight) and sparse_config (minicpm.sparse.* keys) are written.

Options:
  --type TYPE        f32 | f16 | q8_0 | q4_0 (default f16). 1-D tensors stay F32
  --vocab-only       write only the tokenizer (and hyper-parameters), no tensors
  -h, --help         show this help

Examples:
  litsurvey model convert ./MiniCPM4-0.5B minicpm4-q8.gguf --type q8_0
  litsurvey model convert --vocab-only ./MiniCPM4-0.5B minicpm4-vocab.gguf
`;

const convert: Command = {
  name: 'convert',
  summary: 'convert a Hugging Face Llama/MiniCPM checkpoint to GGUF',
  help: convertHelp,
  run: (args) =>
    parseErrorsAsUsage(async () => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          type: { type: 'string', default: 'f16' },
          'vocab-only': { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) {
        process.stdout.write(convertHelp);
        return 0;
      }
      if (positionals.length !== 2) throw new UsageError('model convert: expected DIR and OUT.gguf');
      const type = values.type!.toLowerCase();
      if (!(CONVERT_TYPES as readonly string[]).includes(type)) {
        throw new UsageError(`model convert: --type must be one of ${CONVERT_TYPES.join(', ')}, got "${values.type}"`);
      }
      const started = Date.now();
      const result = convertHfModel({
        dir: positionals[0],
        out: positionals[1],
        type: type as (typeof CONVERT_TYPES)[number],
        vocabOnly: values['vocab-only'],
        log,
      });
      log(`wrote ${result.path}: ${result.tensors} tensors, ${mib(result.bytes)}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }),
};

export const command: Command = {
  name: 'model',
  summary: 'write GGUF model files (synthetic test models, Hugging Face conversion)',
  help: `Usage: litsurvey model <command> [options]

Commands:
  synth     ${synth.summary}
  convert   ${convert.summary}

Run \`litsurvey model <command> --help\` for a command's options.
`,
  subcommands: [synth, convert],
};
