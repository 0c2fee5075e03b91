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
}

/** A proxy to `target` on 127.0.0.1:`port`; it starts down (call `up()`). */
export function tcpProxy(target: { host: string; port: number }, port: number): TcpProxy {
  const host = '127.0.0.1';
  const live = new Set<Socket>();
  let server: Server | null = null;
  let accepted = 0;
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
    client.pipe(upstream);
    upstream.pipe(client);
  };
  return {
    host,
    port,
    accepted: () => accepted,
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
