import type { AdminHandler, AdminRouter, AdminUploadHandler } from './admin-router.types.js';

// The admin API's route table: `/api/groups/:id` patterns matched segment by segment. A small
// table of our own instead of Express: the listener needs exactly four things (match, params,
// bounded JSON, streamed NDJSON/attachments) and full control over the order auth → route →
// role → audit, which middleware chains make easy to get wrong. A route registered twice is a
// programming error and stops the server at start.

export type RouteKind = 'read' | 'change' | 'upload';
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type AdminRoute =
  | { kind: 'read'; method: 'GET'; path: string; segments: string[]; action: null; handler: AdminHandler }
  | { kind: 'change'; method: RouteMethod; path: string; segments: string[]; action: string; handler: AdminHandler }
  | { kind: 'upload'; method: 'POST'; path: string; segments: string[]; action: string; handler: AdminUploadHandler };

export type RouteMatch =
  | { found: true; route: AdminRoute; params: Record<string, string> }
  /** the path exists with other methods */
  | { found: false; allowed: RouteMethod[] };

const ACTION_RE = /^[a-z][a-zA-Z0-9-]*(\.[a-z][a-zA-Z0-9-]*)+$/;

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export function createRouteTable() {
  const routes: AdminRoute[] = [];
  const add = (r: AdminRoute): void => {
    if (!r.path.startsWith('/api/')) throw new Error(`admin route ${r.method} ${r.path}: paths start with /api/`);
    if (r.action !== null && !ACTION_RE.test(r.action)) throw new Error(`admin route ${r.method} ${r.path}: action "${r.action}" must look like noun.verb`);
    const shape = r.segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/');
    for (const o of routes) {
      if (o.method === r.method && o.segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/') === shape) {
        throw new Error(`admin route ${r.method} ${r.path} is registered twice (also ${o.path})`);
      }
    }
    routes.push(r);
  };
  const router: AdminRouter = {
    read(path, handler) {
      add({ kind: 'read', method: 'GET', path, segments: split(path), action: null, handler });
    },
    change(method, path, action, handler) {
      add({ kind: 'change', method, path, segments: split(path), action, handler });
    },
    upload(path, action, handler) {
      add({ kind: 'upload', method: 'POST', path, segments: split(path), action, handler });
    },
  };

  function matchPath(route: AdminRoute, parts: string[]): Record<string, string> | null {
    if (route.segments.length !== parts.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const seg = route.segments[i]!;
      const part = parts[i]!;
      if (seg.startsWith(':')) {
        try {
          params[seg.slice(1)] = decodeURIComponent(part);
        } catch {
          return null;
        }
      } else if (seg !== part) {
        return null;
      }
    }
    return params;
  }

  return {
    router,
    routes: (): readonly AdminRoute[] => routes,
    match(method: string, pathname: string): RouteMatch {
      const parts = split(pathname);
      const allowed: RouteMethod[] = [];
      // Literal segments win over parameters (`/api/tokens/current` before `/api/tokens/:id`).
      let best: { route: AdminRoute; params: Record<string, string>; literals: number } | null = null;
      for (const r of routes) {
        const params = matchPath(r, parts);
        if (!params) continue;
        if (r.method !== method) {
          allowed.push(r.method);
          continue;
        }
        const literals = r.segments.filter((s) => !s.startsWith(':')).length;
        if (!best || literals > best.literals) best = { route: r, params, literals };
      }
      return best ? { found: true, route: best.route, params: best.params } : { found: false, allowed };
    },
  };
}

export type RouteTable = ReturnType<typeof createRouteTable>;
