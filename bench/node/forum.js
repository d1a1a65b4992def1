// What the benchmarks' Node clients share: signing in by an invitation link as a browser
// does (the page, its CSRF cookie and field, the form's POST), bounded concurrency, and the
// figures' arithmetic. Used by clients.js (the join storm) and notes-clients.js.

import { readFileSync } from "node:fs";

export function cookieFrom(response, name) {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(";");
    const at = pair.indexOf("=");
    if (pair.slice(0, at).trim() === name) return pair.slice(at + 1);
  }
  return null;
}

// The session cookie (`forum_session=…`) of the invitation `token` at the forum on `url`.
export async function signIn(url, token) {
  const link = `${url}/signin/${token}`;
  const page = await fetch(link, { redirect: "manual" });
  const csrfCookie = cookieFrom(page, "forum_csrf");
  const field = /name="csrf_token" value="([^"]+)"/.exec(await page.text());
  if (page.status !== 200 || !csrfCookie || !field) {
    throw new Error(`sign-in page: HTTP ${page.status}, no CSRF cookie or field`);
  }
  const answer = await fetch(link, {
    method: "POST",
    redirect: "manual",
    headers: {
      Cookie: `forum_csrf=${csrfCookie}`,
      Origin: new URL(url).origin,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf_token: field[1] }).toString(),
  });
  await answer.arrayBuffer();
  const session = cookieFrom(answer, "forum_session");
  if (answer.status !== 303 || !session) {
    throw new Error(`sign-in POST: HTTP ${answer.status}, no session cookie`);
  }
  return `forum_session=${session}`;
}

// `work(item, index)` for every item, at most `limit` at once; the results in order.
export async function bounded(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

// A process's CPU seconds so far (utime + stime), from /proc.
export function cpuSecondsOf(pid, clkTck) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}
