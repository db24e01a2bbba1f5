export { isConnectionError, PgvigilClient, type PgvigilClientOptions } from './client.js';
