// Where litsurvey keeps its data and which corpus it indexes by default.
// Precedence: environment variables > litsurvey.config.json (cwd) > embedded defaults.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Config {
  /** Root of everything litsurvey writes (index, database, caches, outputs). */
  home: string;
  /** LanceDB directory or URI (may be s3://…). */
  indexUri: string;
  /** SQLite database file. */
  dbPath: string;
  /** Caches derived from installed packages (word-vector binary, …). */
  cacheDir: string;
  /** Files or directories ingested when an index is first needed. */
  corpus: string[];
  /** Where the corpus default came from, for messages. */
  corpusSource: 'env' | 'config' | 'bundle' | 'sample';
  /** GGUF model file, if any. */
  model?: string;
}

/** The package root: two levels above dist/config.js (or src/config.ts). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface ConfigFile {
  home?: string;
  index?: string;
  db?: string;
  corpus?: string | string[];
  model?: string;
}

function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  const allowed = new Set(['home', 'index', 'db', 'corpus', 'model']);
  for (const [k, v] of Object.entries(parsed)) {
    if (!allowed.has(k)) throw new Error(`${path}: unknown field "${k}" (allowed: ${[...allowed].join(', ')})`);
    const ok = k === 'corpus' ? typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')) : typeof v === 'string';
    if (!ok) throw new Error(`${path}: field "${k}" must be ${k === 'corpus' ? 'a string or an array of strings' : 'a string'}`);
  }
  return parsed as ConfigFile;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const filePath = env.LITSURVEY_CONFIG ? resolve(cwd, env.LITSURVEY_CONFIG) : join(cwd, 'litsurvey.config.json');
  const file = readConfigFile(filePath);
  const fromFile = (p: string) => resolve(dirname(filePath), p);
  const home = env.LITSURVEY_HOME ? resolve(cwd, env.LITSURVEY_HOME) : file.home ? fromFile(file.home) : resolve(cwd, 'data');

  let corpus: string[];
  let corpusSource: Config['corpusSource'];
  const bundle = resolve(packageRoot, '..', 'shared', 'corpus');
  if (env.LITSURVEY_CORPUS) {
    corpus = env.LITSURVEY_CORPUS.split(':').filter(Boolean).map((p) => resolve(cwd, p));
    corpusSource = 'env';
  } else if (file.corpus) {
    corpus = (Array.isArray(file.corpus) ? file.corpus : [file.corpus]).map(fromFile);
    corpusSource = 'config';
  } else if (existsSync(bundle)) {
    corpus = [bundle];
    corpusSource = 'bundle';
  } else {
    corpus = [join(packageRoot, 'corpus', 'sample.jsonl')];
    corpusSource = 'sample';
  }
  const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
  const indexSetting = env.LITSURVEY_INDEX ?? file.index;
  const indexUri = indexSetting ? (isUri(indexSetting) ? indexSetting : env.LITSURVEY_INDEX ? resolve(cwd, indexSetting) : fromFile(indexSetting)) : join(home, 'index');
  const dbSetting = env.LITSURVEY_DB ?? file.db;
  const dbPath = dbSetting ? (env.LITSURVEY_DB ? resolve(cwd, dbSetting) : fromFile(dbSetting)) : join(home, 'litsurvey.sqlite');
  const modelSetting = env.LITSURVEY_MODEL ?? file.model;
  const model = modelSetting ? (env.LITSURVEY_MODEL ? resolve(cwd, modelSetting) : fromFile(modelSetting)) : undefined;
  const cacheDir = env.LITSURVEY_CACHE ? resolve(cwd, env.LITSURVEY_CACHE) : join(home, 'cache');
  return { home, indexUri, dbPath, cacheDir, corpus, corpusSource, model };
}
