// Earlier work: the library keeps a share for the best papers from before the candidates' median
// year, which a ranking over a recent flood of papers would leave out. Real LanceDB index built
// from a small corpus written here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan } from '../../dist/pipeline/planner.js';
import { earlierCutoff, retrieve } from '../../dist/pipeline/retriever.js';
import { DEFAULT_REQUEST } from '../../dist/pipeline/run-survey.js';
import { corpusPaper as paper, indexPapers } from '../helpers.js';

const aspects = ['sensors', 'robots', 'factories', 'drones', 'phones'];
// 40 recent papers say "widget calibration" again and again; 6 older ones say it once among other words.
const corpus = [
  ...Array.from({ length: 40 }, (_, i) =>
    paper(`new-${i}`, 2025, `Widget calibration for ${aspects[i % 5]}, study ${i}`, `Widget calibration of ${aspects[i % 5]}: we calibrate widgets with neural widget calibration and report widget calibration error ${i}.`),
  ),
  ...Array.from({ length: 6 }, (_, i) =>
    paper(`old-${i}`, 2019, `Notes on tuning machines, part ${i}`, `Long field notes on tuning old machines, lathes and looms by hand, with a short remark on widget calibration, case ${i}.`),
  ),
];

test('earlier work: the cutoff is the year before the median year', () => {
  assert.equal(earlierCutoff([2025, 2019, 2026]), 2024);
  assert.equal(earlierCutoff([2020, 2021, 2022, 2023]), 2021);
  assert.equal(earlierCutoff([]), null);
});

test('earlier work: a tenth of the library goes to the best papers before the median year', async (t) => {
  const { index, embedder } = await indexPapers(t, corpus, 'litsurvey-earlier-');
  const ctx = { index, embedder, engine: null };
  const req = { ...DEFAULT_REQUEST, topic: 'widget calibration', sections: 2, maxPapers: 20 };

  const planned = await plan(ctx, req);
  const got = await retrieve(ctx, req, planned);
  assert.equal(got.papers.length, 20);
  const old = got.papers.filter((p) => p.year === 2019);
  // Without the share every place would go to the recent papers, which match every query better.
  assert.equal(old.length, 2, `two places for earlier work: ${got.papers.map((p) => p.id).join(' ')}`);
  for (const p of old) assert.ok(got.sectionPapers[p.section].includes(p.id), `${p.id} is listed in its section`);

  // A request dated before the cutoff leaves no earlier half to search: the ranking fills the library.
  const dated = { ...req, filters: { since: 2025 } };
  const datedGot = await retrieve(ctx, dated, await plan(ctx, dated));
  assert.deepEqual(datedGot.papers.filter((p) => p.year !== 2025), []);
  assert.equal(datedGot.papers.length, 20);
});
