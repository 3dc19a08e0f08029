// bench:pipeline refuses malformed numeric flags before it opens the index.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from '../helpers.js';

const bench = join(root, 'dist', 'bench', 'pipeline.js');

for (const [flag, value] of [['--seed', 'x'], ['--seed', '0'], ['--until', '20x4'], ['--engine-sections', '-2'], ['--engine-library-tokens', '1.5']]) {
  test(`bench:pipeline ${flag} ${value} is a clear error`, () => {
    const r = spawnSync(process.execPath, [bench, `${flag}=${value}`], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${flag} must be a positive integer, got ${value.replace('.', '\\.')}`));
  });
}
