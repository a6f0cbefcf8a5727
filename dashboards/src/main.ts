// `make dashboards`: writes dashboards/<uid>.json and the Helm chart's copy (run from the repository root).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderDashboards } from './dashboards.js';

for (const [path, content] of renderDashboards()) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
