// The litsurvey CLI as a user runs it: help everywhere, clear errors, exit statuses, JSON output.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliEnv, fixtures, root, runCli, tempDir } from '../helpers.js';

test('--help works for every command and subcommand', async (t) => {
  const env = cliEnv(tempDir(t));
  const top = await runCli(['--help'], env);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Usage: litsurvey <command>/);
  const { commands } = await import('../../dist/cli/main.js');
  const walk = (list, path) => list.flatMap((c) => [[...path, c.name], ...walk(c.subcommands ?? [], [...path, c.name])]);
  const all = walk(commands, []);
  assert.ok(all.length >= 5);
  for (const words of all) {
    assert.match(top.stdout + all.map((w) => w.join(' ')).join('\n'), new RegExp(words[0]));
    const r = await runCli([...words, '--help'], env);
    assert.equal(r.code, 0, `${words.join(' ')} --help`);
    assert.match(r.stdout, new RegExp(`Usage: litsurvey ${words.join(' ')}`), `${words.join(' ')} --help prints its usage`);
  }
});

test('unknown commands and bad flags are usage errors (exit 2) that say what is wrong', async (t) => {
  const env = cliEnv(tempDir(t));
  const a = await runCli(['frobnicate'], env);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown command "frobnicate"/);
  const b = await runCli(['search', 'x', '-k', 'many'], env);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /-k: expected an integer/);
  const c = await runCli(['search', 'x', '--since', '20'], env);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--since: expected a four-digit year/);
  const d = await runCli(['index', 'add', '--bogus'], env);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /bogus/);
  const e = await runCli(['index', 'add', join(fixtures, 'nope.jsonl')], env);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /nope\.jsonl: no such file or directory/);
  const f = await runCli(['serve', '--sparse'], { ...env, LITSURVEY_MODEL: '' });
  assert.equal(f.code, 2);
  assert.match(f.stderr, /--context and --sparse need a model/);
  const g = await runCli(['serve', '--model', 'm.gguf', '--context', '0'], env);
  assert.equal(g.code, 2);
  assert.match(g.stderr, /--context: expected an integer/);
});

test('index add reports bad records by file:line and exits 1; search and stats answer; JSON output', async (t) => {
  const home = tempDir(t);
  const env = cliEnv(home);
  const bad = join(home, 'bad.jsonl');
  writeFileSync(bad, '{"id":"x1","title":"Good paper on sparse attention","abstract":"Blocks of keys are selected."}\n{"id":"x2","title":\n');
  const add = await runCli(['index', 'add', join(root, 'corpus', 'sample.jsonl'), bad, join(fixtures, 'corpus', 'refs.bib')], env);
  assert.equal(add.code, 1, add.stderr);
  assert.match(add.stderr, /bad\.jsonl:2: skipped: broken JSON/);
  assert.match(add.stderr, /refs\.bib:24: skipped: missing abstract/);
  assert.match(add.stderr, /39 added/);
  const again = await runCli(['index', 'add', join(root, 'corpus', 'sample.jsonl')], env);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /0 added, 0 updated, 36 unchanged/);
  const s = await runCli(['search', 'subword units for rare words', '-k', '3', '--json'], env);
  assert.equal(s.code, 0, s.stderr);
  const out = JSON.parse(s.stdout);
  assert.equal(out.hits.length, 3);
  assert.equal(out.hits[0].id, 'sample:bpe');
  const st = await runCli(['index', 'stats', '--json'], env);
  assert.equal(st.code, 0);
  const stats = JSON.parse(st.stdout);
  assert.equal(stats.papers, 39);
  assert.equal(stats.byYear['2016'], 1);
  assert.equal(stats.byYear['2023'], 8);
  assert.ok(stats.bytesOnDisk > 0);
  assert.equal(stats.embedder.name, 'sif-glove-wink-100d');
});

test('index rebuild re-embeds every paper and keeps them all', async (t) => {
  const home = tempDir(t);
  const env = cliEnv(home);
  assert.equal((await runCli(['index', 'add', join(root, 'corpus', 'sample.jsonl')], env)).code, 0);
  const r = await runCli(['index', 'rebuild'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /exported 36 papers/);
  assert.match(r.stderr, /36 added/);
  const st = JSON.parse((await runCli(['index', 'stats', '--json'], env)).stdout);
  assert.equal(st.papers, 36);
  assert.equal(st.revision, 1, 'a rebuilt index starts a new revision history');
  const s = await runCli(['search', 'subword units for rare words', '-k', '1', '--json'], env);
  assert.equal(JSON.parse(s.stdout).hits[0].id, 'sample:bpe');
  const bad = await runCli(['index', 'rebuild', '--embedder', 'word2vec'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown embedder "word2vec"/);
  assert.equal(JSON.parse((await runCli(['index', 'stats', '--json'], env)).stdout).papers, 36, 'a refused rebuild loses nothing');
});

test('the first search builds the index from the configured corpus', async (t) => {
  const home = tempDir(t);
  const env = cliEnv(home, { LITSURVEY_CORPUS: join(root, 'corpus', 'sample.jsonl') });
  const r = await runCli(['search', 'paged key value cache memory for serving', '-k', '1'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /No index yet/);
  assert.match(r.stdout, /PagedAttention/);
});

test('a broken config file is named in the error', async (t) => {
  const home = tempDir(t);
  const cfg = join(home, 'litsurvey.config.json');
  writeFileSync(cfg, '{"home": 5}');
  const r = await runCli(['index', 'stats'], cliEnv(home, { LITSURVEY_CONFIG: cfg }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /litsurvey\.config\.json: field "home" must be a string/);
});

test('engine generate streams a completion, then its speeds and where the time went', async (t) => {
  const home = tempDir(t);
  const env = cliEnv(home);
  const model = join(home, 'tiny.gguf');
  const synth = await runCli(['model', 'synth', '--arch', 'llama', '--type', 'q8_0', '--shape', 'tiny', model], env);
  assert.equal(synth.code, 0, synth.stderr);
  const r = await runCli(['engine', 'generate', '--model', model, 'hello world', '--max-tokens', '4', '--temperature', '0'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0, 'some text was generated');
  assert.match(r.stderr, /prefill: \d+ tokens, [\d.]+ tokens\/s; decode: 4 tokens, [\d.]+ tokens\/s \(length\)/);
  const phases = r.stderr.match(/time by phase: matmuls ([\d.]+) m?s \((\d+)%\), attention [\d.]+ m?s \((\d+)%\), block selection [\d.]+ m?s \((\d+)%\), other [\d.]+ m?s \((\d+)%\)/);
  assert.ok(phases, r.stderr);
  const shares = phases.slice(2).map(Number);
  assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) <= 2, `shares ${shares}`);
  const missing = await runCli(['engine', 'generate', 'hello'], env);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model/);
});
