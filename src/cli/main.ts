#!/usr/bin/env node
// The `litsurvey` command: dispatches to command modules, prints help, turns errors into messages.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { packageRoot } from '../config.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { command as engineCommand } from './commands/engine.js';
import { command as indexCommand } from './commands/index.js';
import { command as modelCommand } from './commands/model.js';
import { command as searchCommand } from './commands/search.js';
import { command as serveCommand } from './commands/serve.js';
import { command as generateCommand } from './commands/generate.js';
import { command as batchCommand } from './commands/batch.js';
import { command as evalCommand } from './commands/eval.js';

export const commands: Command[] = [generateCommand, batchCommand, evalCommand, searchCommand, indexCommand, serveCommand, engineCommand, modelCommand];

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function listHelp(path: string, list: Command[], intro: string): string {
  const width = Math.max(...list.map((c) => c.name.length)) + 2;
  return `${intro}\n\nCommands:\n${list.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}\n\nRun "${path} <command> --help" for a command's options.`;
}

export const rootHelp = () =>
  listHelp(
    'litsurvey',
    commands,
    `litsurvey ${version()} — offline research-survey generator

Usage: litsurvey <command> [options]

Environment: LITSURVEY_HOME (data dir, default ./data), LITSURVEY_CORPUS (files/dirs, ':'-separated),
LITSURVEY_INDEX, LITSURVEY_DB, LITSURVEY_CACHE, LITSURVEY_MODEL, LITSURVEY_CONFIG (default ./litsurvey.config.json).`,
  );

export async function runCli(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(rootHelp());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    console.log(version());
    return 0;
  }
  let list = commands;
  let path = 'litsurvey';
  let args = argv;
  for (;;) {
    const name = args[0];
    const cmd = list.find((c) => c.name === name);
    if (!cmd) {
      console.error(`${path}: unknown command "${name ?? ''}"\n`);
      console.error(listHelp(path, list, `Usage: ${path} <command>`));
      return 2;
    }
    path = `${path} ${cmd.name}`;
    args = args.slice(1);
    const wantsHelp = args.includes('--help') || args.includes('-h');
    if (cmd.subcommands && !(args[0] && !args[0].startsWith('-') && cmd.subcommands.some((s) => s.name === args[0]))) {
      if (wantsHelp || args.length === 0) {
        console.log(cmd.help);
        return args.length === 0 && !wantsHelp ? 2 : 0;
      }
      if (!cmd.run) {
        console.error(`${path}: unknown subcommand "${args[0]}"\n\n${cmd.help}`);
        return 2;
      }
    }
    if (cmd.subcommands && args[0] && cmd.subcommands.some((s) => s.name === args[0])) {
      list = cmd.subcommands;
      continue;
    }
    if (wantsHelp) {
      console.log(cmd.help);
      return 0;
    }
    try {
      return await cmd.run!(args);
    } catch (e) {
      const err = e as Error & { code?: string };
      if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`${path}: ${err.message}\nRun "${path} --help" for usage.`);
        return 2;
      }
      console.error(`${path}: ${err.message}`);
      if (process.env.LITSURVEY_DEBUG) console.error(err.stack);
      return 1;
    }
  }
}

const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      console.error(`litsurvey: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
