// Shared test helpers: temp dirs, a shared word-vector cache, running the CLI as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const fixtures = join(root, 'test', 'fixtures');
export const sharedDir = resolve(root, '..', 'shared');
/** One word-vector cache for every test process (built once, atomically). */
export const cacheDir = join(tmpdir(), 'litsurvey-test-cache');
export const cli = join(root, 'dist', 'cli', 'main.js');

export function tempDir(t, prefix = 'litsurvey-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Environment for a CLI run that touches nothing outside `home`. */
export function cliEnv(home, extra = {}) {
  return { ...process.env, LITSURVEY_HOME: home, LITSURVEY_CACHE: cacheDir, LITSURVEY_CONFIG: join(home, 'no-config.json'), ...extra };
}

export function runCli(args, env, { timeoutMs = 120_000, input } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** A corpus record (the bundle's JSONL fields) for small test corpora. */
export const corpusPaper = (id, year, title, abstract) => ({
  id,
  title,
  abstract,
  authors: ['A. Author'],
  year,
  venue: 'Test',
  categories: ['cs.CL'],
  url: `https://example.org/${id}`,
  source: 'test',
  license: 'CC0-1.0',
  doi: null,
  alt_ids: [],
});

/** A real LanceDB index (SIF embedder) of `papers`, written to a temporary directory of test t. */
export async function indexPapers(t, papers, prefix = 'litsurvey-index-') {
  const { ingest } = await import('../dist/corpus/ingest.js');
  const { PaperIndex } = await import('../dist/index/paper-index.js');
  const { SifEmbedder } = await import('../dist/index/sif-embedder.js');
  const dir = tempDir(t, prefix);
  const file = join(dir, 'papers.jsonl');
  writeFileSync(file, papers.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const embedder = new SifEmbedder(cacheDir);
  const index = await PaperIndex.open(join(dir, 'index'));
  await ingest([file], index, embedder);
  return { index, embedder };
}
