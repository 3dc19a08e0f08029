// The shape every CLI command module exports. A group (e.g. `index`, `model`, `engine`)
// is a Command whose `subcommands` are dispatched by the next word.
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage line, options, examples. */
  help: string;
  run?: (args: string[]) => Promise<number>;
  subcommands?: Command[];
}

/** An error the user caused (bad flag, missing file): printed without a stack trace, exit status 2. */
export class UsageError extends Error {}
