// Rebuilds the bundles and the suite JSON Schema and fails when dist/ differs from what is
// committed: the Action runs dist/index.js straight from the repository, so a stale bundle would
// ship old code, and editors read dist/suite.schema.json, so a stale schema would flag valid suites.
import { execFileSync } from 'node:child_process';

execFileSync('node', ['scripts/build.mjs'], { stdio: 'inherit' });
const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', 'dist'], {
  encoding: 'utf8',
}).trim();
if (changed) {
  console.error('dist/ is not current. Run `npm run build` and commit dist/. Changed files:\n' + changed);
  execFileSync('git', ['--no-pager', 'diff', '--stat', '--', 'dist'], { stdio: 'inherit' });
  process.exit(1);
}
console.log('dist/ is current.');
