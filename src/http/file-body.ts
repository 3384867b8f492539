// Writes file slices (and framing bytes) to a response with backpressure: one chunk is read,
// written, and only when the socket has taken it is the next one read. A response therefore
// holds at most one chunk whatever the file size, and a client that stops reading holds one
// chunk until the idle timeout destroys its socket.
//
// Chunks come from pools. A 1 MiB chunk reads a whole Delivery Optimization range in one
// thread-pool round trip (each costs tens of microseconds of main-thread time on a VM); at most
// LARGE_BUDGET of them exist at once, and responses beyond that get 64 KiB chunks, so memory is
// bounded by the number of connections, never by file sizes. Reusing buffers avoids the page
// faults and GC work of a fresh allocation per read. A buffer returns to its pool only after
// the socket's write callback, i.e. once libuv no longer refers to it; a response aborted
// mid-write abandons its buffer to the garbage collector.

import { read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { BodyPiece } from '../core/content/multipart-byteranges.js';
import type { FileHandle } from './open-files.js';

const LARGE = 1024 * 1024;
const SMALL = 64 * 1024;
const LARGE_BUDGET = 32;
const MAX_POOLED_SMALL = 64;
const largePool: Buffer[] = [];
const smallPool: Buffer[] = [];
let largeOut = 0;

function takeChunk(): Buffer {
  if (largeOut < LARGE_BUDGET) {
    largeOut++;
    return largePool.pop() ?? Buffer.allocUnsafeSlow(LARGE);
  }
  return smallPool.pop() ?? Buffer.allocUnsafeSlow(SMALL);
}

function giveBack(b: Buffer): void {
  if (b.length === LARGE) {
    largeOut--;
    largePool.push(b);
  } else if (smallPool.length < MAX_POOLED_SMALL) smallPool.push(b);
}

/** For a chunk the socket may still hold: forget it, but free its place in the budget. */
function abandon(b: Buffer): void {
  if (b.length === LARGE) largeOut--;
}

// Reads in flight or read but not yet handed to a socket. Without a cap, with many connections
// the chunks read by the thread pool queue up waiting for the main thread, and by the time one
// is written out the CPU cache no longer holds it: with 28 connections the copy into the socket
// cost twice as much (bench/content, perf). A slot is freed as soon as the chunk is handed to
// the socket, not when the client has taken it, so slow clients never hold one. Four is libuv's
// default thread-pool size, so the cap adds no waiting the pool would not impose anyway; 2, 8
// and no cap all measured slower.
const MAX_READS = 4;
let readsActive = 0;
const readWaiters: Array<() => void> = [];

function withReadSlot(run: () => void): void {
  if (readsActive < MAX_READS) {
    readsActive++;
    run();
  } else {
    readWaiters.push(run);
  }
}

function releaseReadSlot(): void {
  const next = readWaiters.shift();
  if (next) next();
  else readsActive--;
}

export type BodyOutcome = 'done' | 'aborted' | 'short-file' | 'read-error';

/**
 * Streams `pieces` from the open file into `res`, ends the response, and releases the file
 * (never while a read is in flight: once closed, the number could be reused by another open).
 * `done` reports once; on anything but 'done' the response has been destroyed, because its
 * Content-Length can no longer be honoured.
 */
export function writeBody(file: FileHandle, res: ServerResponse, pieces: readonly BodyPiece[], done: (outcome: BodyOutcome, error?: Error) => void): void {
  let chunk: Buffer | null = null;
  let pieceIndex = 0;
  let position = -1;
  let reading = false;
  let releaseWhenReadReturns = false;
  let finished = false;

  const finish = (outcome: BodyOutcome, error?: Error): void => {
    if (finished) return;
    finished = true;
    res.off('close', onClose);
    if (outcome !== 'done' && !res.destroyed) res.destroy();
    if (chunk) abandon(chunk);
    if (reading) releaseWhenReadReturns = true;
    else file.release();
    done(outcome, error);
  };
  const onClose = (): void => {
    if (!res.writableFinished) finish('aborted');
  };
  res.on('close', onClose);

  const afterWrite = (err?: Error | null): void => {
    if (finished) return;
    if (err) finish('aborted');
    else next();
  };

  const next = (): void => {
    if (finished) return;
    if (res.destroyed) {
      finish('aborted');
      return;
    }
    const piece = pieces[pieceIndex];
    if (!piece) {
      if (chunk) giveBack(chunk);
      chunk = null;
      res.end();
      finish('done');
      return;
    }
    if (piece.kind === 'bytes') {
      pieceIndex++;
      res.write(piece.data, afterWrite);
      return;
    }
    if (position < 0) position = piece.range.start;
    const remaining = piece.range.end + 1 - position;
    if (remaining <= 0) {
      pieceIndex++;
      position = -1;
      next();
      return;
    }
    reading = true;
    withReadSlot(() => {
      if (finished) {
        reading = false;
        releaseReadSlot();
        if (releaseWhenReadReturns) file.release();
        return;
      }
      const buf = (chunk ??= takeChunk());
      read(file.fd, buf, 0, Math.min(buf.length, remaining), position, (err, n) => {
        reading = false;
        if (releaseWhenReadReturns || finished || err || n === 0) {
          releaseReadSlot();
          if (releaseWhenReadReturns) file.release();
          else if (err) finish('read-error', err);
          else if (n === 0 && !finished) finish('short-file');
          return;
        }
        position += n;
        res.write(n === buf.length ? buf : buf.subarray(0, n), afterWrite);
        releaseReadSlot();
      });
    });
  };
  next();
}
