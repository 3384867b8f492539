// The JSON API, with the token the user signed in with. The token lives in sessionStorage (gone
// when the tab closes) and travels only in the Authorization header — never in a URL, so it is
// in no history, log or Referer.

const TOKEN_KEY = 'wsus.dashboard.token';
const WHO_KEY = 'wsus.dashboard.who';

export class AuthError extends Error {}
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  who: () => {
    try {
      return JSON.parse(sessionStorage.getItem(WHO_KEY) ?? 'null');
    } catch {
      return null;
    }
  },
  save(token, who) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(WHO_KEY, JSON.stringify(who));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(WHO_KEY);
  },
};

export function apiUrl(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const qs = q.toString();
  return `${path}${qs ? `?${qs}` : ''}`;
}

async function request(path, query, token, accept) {
  let res;
  try {
    res = await fetch(apiUrl(path, query), { headers: { authorization: `Bearer ${token}`, accept }, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(`the server did not answer (${e.message})`, 0, 'Network');
  }
  if (res.status === 401) {
    const body = await res.json().catch(() => ({}));
    throw new AuthError(body.error || 'the token was refused');
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiError(body.error || `${res.status} ${res.statusText}`, res.status, body.code);
  }
  return res;
}

/** GET a report as JSON with the signed-in token. */
export async function getJson(path, query = {}, token = session.token()) {
  if (!token) throw new AuthError('');
  return (await request(path, query, token, 'application/json')).json();
}

/** Fetches a CSV report with the token, then hands it to the browser as a download. */
export async function downloadCsv(path, query, fileName) {
  const token = session.token();
  if (!token) throw new AuthError('');
  const res = await request(path, { ...query, format: 'csv' }, token, 'text/csv');
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
