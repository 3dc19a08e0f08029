#!/usr/bin/env node
// Stand-in for `litsurvey model synth` until the CLI is wired: same flags (see --help).
import { command } from '../dist/cli/commands/model.js';
import { UsageError } from '../dist/cli/command.js';

const synth = command.subcommands.find((c) => c.name === 'synth');
try {
  process.exitCode = await synth.run(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`litsurvey model synth: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
