/**
 * The MongoDB store against a real MongoDB-wire server: the shared conformance suite, unchanged,
 * on both time sources (auto-detected — `offset` on FerretDB — and the forced offset path), then
 * MongoDB specifics. Server: $QTASK_TEST_MONGO_URL, else a private FerretDB (see mongodbServer.ts).
 */
import { after, before } from 'node:test';
import { openMongoStore } from '../../src/store/mongodb.ts';
import { storeConformance } from './conformance.ts';
import { freshDatabase, mongoTestServer, urlFor } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

let server: MongoTestServer;
before(async () => {
  server = await mongoTestServer();
});
after(async () => {
  await server?.stop();
});

storeConformance('mongodb (time source detected at connect)', async () => openMongoStore(urlFor(server, freshDatabase('conf'))));
storeConformance('mongodb (forced clock-offset time source)', async () =>
  openMongoStore(urlFor(server, freshDatabase('conf_off')), { time: 'offset' }),
);
