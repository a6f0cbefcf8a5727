export { buildServer, type BuildServerOptions, type Readiness } from './app.js';
export { startServer } from './listen.js';
