import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { redactUrl, type NotificationEvent, type NotificationsConfig, type WebhookConfig } from '../../config/notifications-config.js';
import type { Logger } from '../../logger.js';

// Webhook deliveries: `emit` queues a JSON POST to every webhook subscribed to the event and
// returns at once — the caller (a sync, a health check) never waits for a receiver. Each
// delivery is tried up to `attempts` times with exponential backoff on network errors, 408,
// 429 and 5xx; other answers are final. Failures are logged with the URL reduced to scheme,
// host and path (no credentials, no query) and never with the secret.

export const SIGNATURE_HEADER = 'x-wsus-signature';
/** deliveries waiting or in flight at most; beyond it the oldest waiting one is dropped */
const MAX_PENDING = 1000;

export interface WebhookBody {
  event: NotificationEvent;
  /** ISO time the event happened; receivers reject old ones to defeat replays */
  timestamp: string;
  /** this server's GUID and name */
  server: { id: string; name: string };
  deliveryId: string;
  payload: unknown;
}

export interface NotifierDeps {
  config: NotificationsConfig;
  server: { id: string; name: string };
  log: Logger;
  clock: () => Date;
  /** tests inject one; by default the notifier owns an Agent it closes in close() */
  dispatcher?: Dispatcher;
  /** first retry delay; doubled per attempt (default 1 s) */
  baseDelayMs?: number;
  random?: () => number;
  userAgent?: string;
}

export interface Notifier {
  emit(event: NotificationEvent, payload: unknown): void;
  /** resolves when nothing is queued or in flight (tests, shutdown) */
  idle(): Promise<void>;
  /** stops retrying, waits briefly for deliveries in flight, releases the HTTP agent */
  close(): Promise<void>;
}

/** `sha256=<hex>` over the exact body bytes. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const RETRYABLE = (status: number): boolean => status === 408 || status === 429 || status >= 500;

export function createWebhookNotifier(deps: NotifierDeps): Notifier {
  const cfg = deps.config;
  const ownAgent = deps.dispatcher ? undefined : new Agent({ connect: { timeout: cfg.timeoutSeconds * 1000 }, keepAliveTimeout: 4_000 });
  const dispatcher = deps.dispatcher ?? ownAgent!;
  const baseDelay = deps.baseDelayMs ?? 1000;
  const random = deps.random ?? Math.random;
  const stop = new AbortController();
  const pending = new Set<Promise<void>>();
  let waiting = 0;
  let closed = false;

  async function attempt(hook: WebhookConfig, body: string, headers: Record<string, string>): Promise<{ ok: boolean; retry: boolean; detail: string }> {
    try {
      const res = await request(hook.url, {
        method: 'POST', headers, body, dispatcher, signal: stop.signal,
        headersTimeout: cfg.timeoutSeconds * 1000, bodyTimeout: cfg.timeoutSeconds * 1000,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, retry: false, detail: String(res.statusCode) };
      return { ok: false, retry: RETRYABLE(res.statusCode), detail: `HTTP ${res.statusCode}` };
    } catch (e) {
      const err = e as Error & { code?: string };
      return { ok: false, retry: !stop.signal.aborted, detail: err.code ?? err.message };
    }
  }

  async function deliver(hook: WebhookConfig, event: NotificationEvent, payload: unknown): Promise<void> {
    const deliveryId = randomUUID();
    const envelope: WebhookBody = { event, timestamp: deps.clock().toISOString(), server: deps.server, deliveryId, payload };
    const body = JSON.stringify(envelope);
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': deps.userAgent ?? 'wsus-ts-webhook',
      'x-wsus-event': event,
      'x-wsus-delivery': deliveryId,
      'x-wsus-timestamp': envelope.timestamp,
    };
    if (hook.secret) headers[SIGNATURE_HEADER] = signBody(hook.secret, body);
    const where = redactUrl(hook.url);
    for (let n = 1; ; n++) {
      const r = await attempt(hook, body, headers);
      if (r.ok) {
        deps.log.debug('webhook delivered', { url: where, event, deliveryId, attempt: n });
        return;
      }
      if (!r.retry || n >= cfg.attempts || stop.signal.aborted) {
        deps.log.warn('webhook delivery failed', { url: where, event, deliveryId, attempts: n, error: r.detail, final: true });
        return;
      }
      deps.log.info('webhook delivery failed, retrying', { url: where, event, deliveryId, attempt: n, error: r.detail });
      const delay = baseDelay * 2 ** (n - 1) * (0.75 + random() * 0.5);
      try {
        await sleep(delay, undefined, { signal: stop.signal });
      } catch {
        deps.log.warn('webhook delivery abandoned at shutdown', { url: where, event, deliveryId, attempts: n });
        return;
      }
    }
  }

  function track(p: Promise<void>): void {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  return {
    emit(event, payload) {
      if (closed) return;
      for (const hook of cfg.webhooks) {
        if (!hook.events.includes(event)) continue;
        if (pending.size + waiting >= MAX_PENDING) {
          deps.log.warn('webhook queue full: notification dropped', { url: redactUrl(hook.url), event });
          continue;
        }
        // Started on the next tick: emit never runs network code on the caller's stack.
        waiting++;
        track(Promise.resolve().then(() => {
          waiting--;
          return deliver(hook, event, payload);
        }).catch((e: unknown) => {
          deps.log.error('webhook delivery crashed', { url: redactUrl(hook.url), event, error: (e as Error).message });
        }));
      }
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async close() {
      closed = true;
      stop.abort();
      await Promise.race([Promise.allSettled([...pending]), sleep(2_000)]);
      await ownAgent?.close();
    },
  };
}
