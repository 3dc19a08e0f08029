#!/usr/bin/env node
// `npm test`: checks the build is in place, then runs every test/**/*.test.js with node's test runner.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'stubs' ? [] : findTests(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

for (const [file, fix] of [
  ['dist/cli/main.js', 'npm run build'],
  ['native/build/Release/litsurvey_engine.node', 'npm run build:native'],
]) {
  if (!existsSync(join(root, file))) {
    console.error(`npm test: ${file} is missing; run "${fix}" (npm ci does both)`);
    process.exit(1);
  }
}

// The browser tests (report rendering) drive Chromium through playwright-core.
if (!existsSync('/usr/bin/chromium')) {
  if (process.getuid?.() === 0) {
    console.error('npm test: /usr/bin/chromium is missing; installing the Debian package "chromium"');
    const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    if (!(apt(['update']) && apt(['install', '-y', 'chromium']))) {
      console.error('npm test: installing "chromium" with apt-get failed');
      process.exit(1);
    }
  } else {
    console.error('npm test: /usr/bin/chromium is missing; install the Debian package "chromium" (apt-get install -y chromium)');
    process.exit(1);
  }
}

// Only the named files (or directories) when given, e.g. `npm test -- test/index`.
const wanted = process.argv.slice(2).map((a) => resolve(a));
const files = findTests(join(root, 'test'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f === w || f.startsWith(w + '/')))
  .sort();
if (files.length === 0) {
  console.error('npm test: no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=900000', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
