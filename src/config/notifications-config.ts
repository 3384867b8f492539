import { checker } from './config-checks.js';
// The `notifications` section: webhooks that receive a JSON POST when something an admin must
// know happens. A secret makes the server sign each body (HMAC-SHA256), so the receiver can
// tell a real notification from a forged one.

export const NOTIFICATION_EVENTS = ['sync.succeeded', 'sync.failed', 'updates.new', 'rules.matched', 'health.red'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export interface WebhookConfig {
  url: string;
  events: NotificationEvent[];
  /** HMAC-SHA256 key for the X-Wsus-Signature header; never logged */
  secret: string | null;
}

export interface NotificationsConfig {
  webhooks: WebhookConfig[];
  /** tries per delivery (first attempt included) */
  attempts: number;
  /** per attempt */
  timeoutSeconds: number;
  /** titles listed in an updates.new payload */
  maxTitles: number;
}

const KNOWN = ['webhooks', 'attempts', 'timeoutSeconds', 'maxTitles'];
const HOOK_KNOWN = ['url', 'events', 'secret'];

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function validateNotificationsConfig(raw: unknown, problems: string[]): NotificationsConfig {
  let s: Raw = {};
  if (raw !== undefined && raw !== null) {
    if (!isObject(raw)) problems.push('notifications must be an object');
    else s = raw;
  }
  const c = checker(s, 'notifications', problems, KNOWN);
  const webhooks: WebhookConfig[] = [];
  if (s.webhooks !== undefined) {
    if (!Array.isArray(s.webhooks)) problems.push('notifications.webhooks must be a list');
    else s.webhooks.forEach((h: unknown, i) => {
      const at = `notifications.webhooks[${i}]`;
      if (!isObject(h)) {
        problems.push(`${at} must be an object`);
        return;
      }
      for (const k of Object.keys(h)) if (!HOOK_KNOWN.includes(k)) problems.push(`unknown key "${at}.${k}"`);
      let url = '';
      try {
        const u = new URL(String(h.url ?? ''));
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        url = u.href;
      } catch {
        // The value itself may carry credentials: do not echo it.
        problems.push(`${at}.url must be an http:// or https:// URL`);
      }
      let events: NotificationEvent[] = [...NOTIFICATION_EVENTS];
      if (h.events !== undefined) {
        const ev = h.events;
        if (!Array.isArray(ev) || !ev.length || ev.some((e) => !(NOTIFICATION_EVENTS as readonly unknown[]).includes(e))) {
          problems.push(`${at}.events must be a non-empty list of ${NOTIFICATION_EVENTS.join(', ')}`);
        } else {
          events = [...new Set(ev as NotificationEvent[])];
        }
      }
      let secret: string | null = null;
      if (h.secret !== undefined && h.secret !== null) {
        if (typeof h.secret !== 'string' || h.secret.length < 16) problems.push(`${at}.secret must be a string of at least 16 characters`);
        else secret = h.secret;
      }
      webhooks.push({ url, events, secret });
    });
  }
  return {
    webhooks,
    attempts: c.int('attempts', 5, 1, 20),
    timeoutSeconds: c.int('timeoutSeconds', 10, 1, 120),
    maxTitles: c.int('maxTitles', 20, 0, 500),
  };
}

/** A webhook URL as logs may show it: no user name, password, query or fragment. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
