import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDb, schemaVersion, migrate } from '../../dist/store/db.js';
import { migrations } from '../../dist/store/migrations.js';
import { tempDir } from '../helpers.js';

test('a new database is migrated to the newest schema in WAL mode', (t) => {
  const db = openDb(join(tempDir(t), 'x.sqlite'));
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(schemaVersion(db), Math.max(...migrations.map((m) => m.version)));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all().map((r) => r.name);
  for (const name of ['jobs', 'job_events', 'job_steps', 'surveys', 'claims', 'metrics']) assert.ok(tables.includes(name), name);
});

test('migrations run once, in order, and a failing one leaves the database at the last good version', (t) => {
  const path = join(tempDir(t), 'y.sqlite');
  const list = [
    { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
    { version: 2, name: 'b', sql: 'CREATE TABLE b (y INTEGER);' },
  ];
  const db = openDb(path, list);
  db.prepare('INSERT INTO a VALUES (1)').run();
  migrate(db, list);
  assert.equal(db.prepare('SELECT count(*) AS n FROM a').get().n, 1);
  assert.throws(() => migrate(db, [...list, { version: 3, name: 'bad', sql: 'CREATE TABLE c (z INTEGER); SELECT * FROM missing;' }]), /no such table/);
  assert.equal(schemaVersion(db), 2);
  assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'c'").get().n, 0, 'the failed migration rolled back');
  db.close();
});

test('a database from a newer litsurvey is refused, not damaged', (t) => {
  const path = join(tempDir(t), 'z.sqlite');
  const db = openDb(path);
  db.pragma('user_version = 999');
  db.close();
  assert.throws(() => openDb(path), /schema version 999 is newer/);
});

test('job rows enforce their state values and cascade to events', (t) => {
  const db = openDb(join(tempDir(t), 'j.sqlite'));
  t.after(() => db.close());
  const now = Date.now();
  db.prepare('INSERT INTO jobs (id, topic, created_at, updated_at) VALUES (?, ?, ?, ?)').run('j1', 'topic', now, now);
  db.prepare('INSERT INTO job_events (job_id, at, type) VALUES (?, ?, ?)').run('j1', now, 'queued');
  assert.throws(() => db.prepare("UPDATE jobs SET state = 'exploded' WHERE id = 'j1'").run(), /CHECK constraint/);
  db.prepare("DELETE FROM jobs WHERE id = 'j1'").run();
  assert.equal(db.prepare('SELECT count(*) AS n FROM job_events').get().n, 0);
});
