// Load generator of the content benchmark (an IPC child): simulated Delivery Optimization
// clients, each downloading a file as shuffled 1 MiB closed ranges over its own keep-alive
// connections, then the next file, until the time is up.
//
// Raw sockets with one reused read buffer and a minimal response parser, so the generator spends
// as little CPU as possible (it shares the machine with the server under test): headers are
// checked (206 and the exact Content-Range), bodies are counted, not kept.

import { connect, type Socket } from 'node:net';

export interface ContentLoadTask {
  port: number;
  files: Array<{ url: string; size: number }>;
  clients: number;
  connectionsPerClient: number;
  seconds: number;
}

export interface ContentLoadFigures {
  bytes: number;
  requests: number;
  errors: number;
  reconnects: number;
  seconds: number;
  firstError?: string;
}

const PIECE = 1024 * 1024;

function shuffledPieces(size: number): number[] {
  const a = Array.from({ length: Math.ceil(size / PIECE) }, (_, i) => i);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function run(task: ContentLoadTask): Promise<ContentLoadFigures> {
  const figures: ContentLoadFigures = { bytes: 0, requests: 0, errors: 0, reconnects: 0, seconds: 0 };
  const started = process.hrtime.bigint();
  const deadline = Date.now() + task.seconds * 1000;
  let open = 0;
  let finish: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const fail = (why: string): void => {
    figures.errors++;
    figures.firstError ??= why;
  };

  for (let c = 0; c < task.clients; c++) {
    // One client: a queue of pieces of its current file, shared by its connections.
    let fileIndex = c % task.files.length;
    let queue: number[] = [];
    const nextPiece = (): { url: string; size: number; start: number; end: number } => {
      if (queue.length === 0) {
        fileIndex = (fileIndex + 1) % task.files.length;
        queue = shuffledPieces(task.files[fileIndex]!.size);
      }
      const f = task.files[fileIndex]!;
      const start = queue.pop()! * PIECE;
      return { url: f.url, size: f.size, start, end: Math.min(f.size, start + PIECE) - 1 };
    };

    for (let k = 0; k < task.connectionsPerClient; k++) {
      open++;
      const buffer = Buffer.allocUnsafe(256 * 1024);
      let socket: Socket;
      let head = '';
      let remaining = -1;
      let expectRange = '';
      let closeAfter = false;
      let done = false;

      const stop = (): void => {
        if (done) return;
        done = true;
        socket.end();
        if (--open === 0) finish();
      };
      const send = (): void => {
        if (Date.now() >= deadline) {
          stop();
          return;
        }
        const p = nextPiece();
        expectRange = `bytes ${p.start}-${p.end}/${p.size}`;
        head = '';
        remaining = -1;
        socket.write(`GET ${p.url} HTTP/1.1\r\nConnection: Keep-Alive\r\nAccept: */*\r\nRange: bytes=${p.start}-${p.end}\r\nUser-Agent: Microsoft-Delivery-Optimization/10.1\r\nHost: 127.0.0.1:${task.port}\r\n\r\n`);
      };

      const onRead = (n: number, buf: Buffer): boolean => {
        let at = 0;
        while (at < n) {
          if (remaining < 0) {
            const text = buf.toString('latin1', at, n);
            const end = (head + text).indexOf('\r\n\r\n');
            if (end < 0) {
              head += text;
              return true;
            }
            const all = head + text;
            at += end + 4 - head.length;
            head = all.slice(0, end);
            const status = head.slice(9, 12);
            const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
            const cr = /\r\ncontent-range: *([^\r]+)/i.exec(head);
            closeAfter = /\r\nconnection: *close/i.test(head);
            if (status !== '206' || !cl || cr?.[1] !== expectRange) fail(`${head.split('\r\n')[0]} ${cr?.[1]} for ${expectRange}`);
            remaining = cl ? Number(cl[1]) : 0;
          }
          const take = Math.min(remaining, n - at);
          remaining -= take;
          at += take;
          figures.bytes += take;
          if (remaining === 0) {
            figures.requests++;
            remaining = -1;
            head = '';
            if (closeAfter) {
              const old = socket;
              figures.reconnects++;
              dial();
              old.destroy();
              return false;
            }
            send();
          }
        }
        return true;
      };

      const dial = (): void => {
        const s = connect({ port: task.port, host: '127.0.0.1', noDelay: true, onread: { buffer, callback: onRead } });
        socket = s;
        s.on('connect', send);
        s.on('error', (e) => fail(e.message));
        s.on('close', () => {
          // A connection the server dropped mid-run is replaced, as a real client would.
          if (s !== socket || done) return;
          if (remaining >= 0) fail('connection closed mid-response');
          if (Date.now() < deadline) {
            figures.reconnects++;
            head = '';
            remaining = -1;
            dial();
          } else stop();
        });
      };
      dial();
    }
  }
  return finished.then(() => {
    figures.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return figures;
  });
}

process.on('message', (m: ContentLoadTask) => {
  run(m).then(
    (f) => process.send!(f),
    (e: Error) => process.send!({ error: e.stack ?? String(e) }),
  );
});
