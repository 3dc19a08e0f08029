// The SQLite store: one better-sqlite3 connection in WAL mode, migrated to the newest schema on open.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations, type Migration } from './migrations.js';

export type Db = Database.Database;

export function openDb(path: string, list: Migration[] = migrations): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  migrate(db, list);
  cacheStatements(db);
  return db;
}

/**
 * Makes `db.prepare` return one statement per SQL text: the server runs the same few queries for
 * every request (job status, progress, history), and preparing one costs more than running it.
 * Safe because every statement here runs to completion synchronously (no `iterate`, `pluck` or
 * `raw`, which would make a shared statement stateful) and every SQL text is a constant.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  db.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) cache.set(source, (statement = prepare(source)));
    return statement;
  }) as Db['prepare'];
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration newer than the database, each in its own transaction. */
export function migrate(db: Db, list: Migration[] = migrations): void {
  const current = schemaVersion(db);
  const newest = list.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > newest) {
    throw new Error(`${db.name}: database schema version ${current} is newer than this litsurvey knows (${newest}); upgrade litsurvey`);
  }
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
