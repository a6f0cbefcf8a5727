// The backend of bench/http.bench.ts's service-shaped workload: an HTTP/1.1
// server that does real work for each request, building a JSON answer of
// about 2 KiB from generated objects, as a small API service would.
// Usage: node service-backend.mjs ADDRESS PORT
import { createServer } from 'node:http';

const [address, port] = process.argv.slice(2);
const ITEMS = 20;
let served = 0;

/** A catalogue page: different for every request, so nothing can be cached. */
function page(path) {
  const n = ++served;
  const items = [];
  for (let i = 0; i < ITEMS; i++) {
    const id = n * ITEMS + i;
    items.push({
      id,
      sku: `SKU-${(id * 2654435761) % 1_000_000}`,
      name: `item ${id % 997}`,
      priceCents: (id * 7919) % 100_000,
      inStock: id % 3 !== 0,
      tags: [`t${id % 5}`, `t${id % 7}`],
    });
  }
  // sorting and summing: a little computation over the objects besides serializing them
  items.sort((a, b) => a.priceCents - b.priceCents);
  const totalCents = items.reduce((sum, item) => sum + item.priceCents, 0);
  return JSON.stringify({ path, request: n, generatedAt: new Date().toISOString(), totalCents, items });
}

const server = createServer((req, res) => {
  const body = page(req.url);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
// the frontend keeps its upstream connections for the whole run: no reconnects in the figures
server.keepAliveTimeout = 60_000;
server.listen(Number(port), address);
