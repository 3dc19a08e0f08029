// The schema's history. Append a migration; never edit one that has shipped.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'jobs, events, surveys, claims, metrics',
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'survey',
        topic TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','done','failed','cancelled')),
        step TEXT,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX jobs_state ON jobs(state, created_at);
      CREATE TABLE job_steps (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        output TEXT NOT NULL,
        finished_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, step)
      );
      CREATE TABLE job_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX job_events_job ON job_events(job_id, id);
      CREATE TABLE surveys (
        id TEXT PRIMARY KEY,
        job_id TEXT REFERENCES jobs(id) ON DELETE SET NULL,
        topic TEXT NOT NULL,
        title TEXT NOT NULL,
        mode TEXT NOT NULL,
        markdown TEXT NOT NULL,
        bibtex TEXT NOT NULL DEFAULT '',
        front_matter TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL
      );
      CREATE TABLE claims (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        survey_id TEXT NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
        section TEXT NOT NULL,
        sentence TEXT NOT NULL,
        citations TEXT NOT NULL,
        judge TEXT NOT NULL,
        supported INTEGER NOT NULL,
        score REAL NOT NULL,
        evidence TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX claims_survey ON claims(survey_id);
      CREATE TABLE metrics (
        survey_id TEXT NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (survey_id, name)
      );
    `,
  },
  {
    version: 2,
    name: 'batch items: which job a line of a batch file became',
    sql: `
      CREATE TABLE batch_items (
        batch TEXT NOT NULL,
        item_key TEXT NOT NULL,
        line INTEGER NOT NULL,
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        PRIMARY KEY (batch, item_key)
      );
    `,
  },
];
