// The package's bin runs as a program (`npx litsurvey`): the build leaves it executable, with a shebang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { test } from 'node:test';
import { cli } from '../helpers.js';

test('dist/cli/main.js is executable and runs on its own', () => {
  accessSync(cli, constants.X_OK);
  assert.match(execFileSync(cli, ['--help'], { encoding: 'utf8' }), /^litsurvey \d+\.\d+\.\d+/);
});
