// HTTP-date (RFC 9110 §5.6.7): written as IMF-fixdate, read in all three historical forms.
// A strict reader rather than Date.parse, which accepts almost anything ("1" is the year 2001)
// and would turn garbage in If-Modified-Since into a 304.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const IMF = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850 = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Milliseconds since the epoch, or null for anything that is not a valid HTTP-date. */
export function parseHttpDate(value: string, nowMs = Date.now()): number | null {
  if (value.length > 64) return null;
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return build(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = RFC850.exec(v);
  if (m) {
    // Two-digit years: the most recent past year with those digits, unless that is more than
    // 50 years ahead of now (RFC 9110 §5.6.7).
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + +m[3]!;
    if (year > nowYear + 50) year -= 100;
    return build(year, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m) return build(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return null;
}

function build(year: number, month: string, day: number, h: number, min: number, s: number): number | null {
  const mon = MONTHS.indexOf(month);
  // 60 is a leap second; Date folds it into the next minute, which is close enough here.
  if (day < 1 || day > 31 || h > 23 || min > 59 || s > 60) return null;
  const ms = Date.UTC(year, mon, day, h, min, s);
  // Rejects 31 Feb and the like, which Date.UTC would silently roll over.
  return new Date(ms).getUTCDate() === day || s === 60 ? ms : null;
}
