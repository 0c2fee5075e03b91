/**
 * A TCP forwarder a test controls, to cut a client off its server without touching the server:
 * `down()` stops listening and destroys every forwarded connection (clients see resets and
 * refused connections, as when a server dies or a link drops); `up()` listens again on the same port.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  host: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  up(): Promise<void>;
  down(): Promise<void>;
  /**
   * Arms a one-shot fault for MongoDB wire traffic: the next request for which `match(message)`
   * is true reaches the server, but its reply does not reach the client — the connection is cut
   * instead (a write the server applied whose answer was lost). Resolves when the cut happened.
   */
  loseReplyTo(match: (request: Buffer) => boolean): Promise<void>;
}

/** Splits a byte stream into MongoDB wire messages (int32 little-endian total length first). */
function wireFramer(onMessage: (msg: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const len = pending.readInt32LE(0);
      if (pending.length < len) break;
      onMessage(pending.subarray(0, len));
      pending = pending.subarray(len);
    }
  };
}

/** A proxy to `target` on 127.0.0.1:`port`; it starts down (call `up()`). */
export function tcpProxy(target: { host: string; port: number }, port: number): TcpProxy {
  const host = '127.0.0.1';
  const live = new Set<Socket>();
  let server: Server | null = null;
  let accepted = 0;
  let fault: { match: (request: Buffer) => boolean; fired: () => void } | null = null;
  const onConnection = (client: Socket): void => {
    accepted++;
    const upstream = connect({ host: target.host, port: target.port });
    live.add(client);
    live.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Requests whose reply is to be lost, by requestID (offset 4; replies carry it at offset 8).
    const doomed = new Set<number>();
    client.on(
      'data',
      wireFramer((msg) => {
        if (fault && msg.length >= 16 && fault.match(msg)) doomed.add(msg.readInt32LE(4));
        upstream.write(msg);
      }),
    );
    upstream.on(
      'data',
      wireFramer((msg) => {
        if (msg.length >= 16 && doomed.has(msg.readInt32LE(8))) {
          const f = fault;
          fault = null;
          drop();
          f?.fired();
          return;
        }
        client.write(msg);
      }),
    );
  };
  return {
    host,
    port,
    accepted: () => accepted,
    loseReplyTo: (match) =>
      new Promise<void>((fired) => {
        fault = { match, fired };
      }),
    up: () =>
      new Promise<void>((ok, fail) => {
        if (server) return ok();
        const s = createServer(onConnection);
        s.once('error', fail);
        s.listen(port, host, () => {
          server = s;
          ok();
        });
      }),
    down: () =>
      new Promise<void>((ok) => {
        for (const s of live) s.destroy();
        live.clear();
        if (!server) return ok();
        const s = server;
        server = null;
        s.close(() => ok());
      }),
  };
}
