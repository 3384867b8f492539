import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../store/database.js';
import { createEventsStore } from '../../store/events.store.js';
import { createComputersStore } from '../../store/computers.store.js';
import { createLogger } from '../../logger.js';
import type { ReportingConfig } from '../../config/reporting-config.js';
import { createLocalIngest } from './local-ingest.js';
import type { ToIngestThread, FromIngestThread } from './ingest-thread.js';

// The report ingest thread: its own connection to the database, the inbox writes and the
// background processing (ingest-thread.ts starts it). Everything it logs goes out through the
// same JSON logger settings as the server's.

interface Init { dbFile: string; config: ReportingConfig; logLevel: string; silent: boolean }

const port = parentPort!;
const init = workerData as Init;
const log = createLogger(init.logLevel, init.silent);
const db = openDatabase(init.dbFile);
const post = (m: FromIngestThread): void => port.postMessage(m);
const ingest = createLocalIngest({
  db, config: init.config, events: createEventsStore(db), computers: createComputersStore(db), clock: () => new Date(), log,
  onProgress: (pending, counts) => post({ t: 'progress', pending, counts }),
});

port.on('message', (m: ToIngestThread) => {
  switch (m.t) {
    case 'store':
      try {
        ingest.store(m.clientId, m.address, m.receivedAt, m.eventCount, m.payload);
        post({ t: 'stored', id: m.id, ok: true });
      } catch (e) {
        log.error('report batch not stored', { clientId: m.clientId, error: (e as Error).message });
        post({ t: 'stored', id: m.id, ok: false, error: (e as Error).message });
      }
      return;
    case 'settle': {
      ingest.flush();
      post({ t: 'settled', id: m.id, pending: ingest.pendingEvents(), counts: ingest.counts() });
      return;
    }
    case 'stop':
      ingest.stop();
      db.close();
      port.close();
  }
});
ingest.start();
