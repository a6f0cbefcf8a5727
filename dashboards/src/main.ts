// `make dashboards`: writes dashboards/<uid>.json (run from the repository root).

import { writeFileSync } from 'node:fs';
import { renderDashboards } from './dashboards.js';

for (const [path, content] of renderDashboards()) {
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
