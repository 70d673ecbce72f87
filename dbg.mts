import { readFileSync } from 'node:fs';
import { ResultsSchema } from './src/results/schema.ts';
import { compareArms } from './src/verdict/compare.ts';
const r = ResultsSchema.parse(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));
const c = compareArms(r, 'proxy', 'base');
for (const m of c.workloads[0]!.metrics) if (m.currentSamples.length) console.log(m.metric, m.policy, m.verdict, m.delta?.toFixed(3), m.ciLow?.toFixed(3), m.ciHigh?.toFixed(3), m.pAdjusted?.toFixed(4));
for (const [arm, a] of Object.entries(r.workloads[0]!.work!.arms)) console.log(arm, a.windows.map(w => Math.round(w.instructions / w.queries)).join(' '), '| sys', a.windows.map(w => (w.syscalls / w.queries).toFixed(2)).join(' '), '| rt', a.windows.map(w => ((w.backendRoundTrips ?? 0) / w.queries).toFixed(4)).join(' '), '| wall', a.windows.map(w => w.wallSec.toFixed(1)).join(' '));
