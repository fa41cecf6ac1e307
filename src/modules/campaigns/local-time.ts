// When a campaign message may be handed to SMTP: at `localTime` on the scheduled day (or its next
// occurrence) in the recipient's own IANA timezone, and only inside the `sendWindow` of their local
// time. Wall-clock arithmetic is luxon's, so DST changes are handled by the timezone database, not
// by offsets (a local time that does not exist on a spring-forward day moves to the next valid one).
import { DateTime } from "luxon";
import { isIanaTimezone } from "../customers/customers.schema.ts";

export const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export interface LocalSchedule {
  /** The campaign's start (scheduledAt), or now. */
  base: Date;
  localTime: string | null;
  window: { start: string; end: string } | null;
  /** Recipient's timezone, else the campaign's default, else UTC. */
  zones: Array<string | null | undefined>;
}

function pickZone(zones: LocalSchedule["zones"]): string {
  for (const z of zones) if (z && isIanaTimezone(z)) return z;
  return "UTC";
}

const at = (d: DateTime, hhmm: string) => d.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3, 5)), second: 0, millisecond: 0 });

/** Moves t (local) forward to the window's next opening unless it is inside the window. */
function intoWindow(t: DateTime, w: { start: string; end: string }): DateTime {
  const m = t.hour * 60 + t.minute;
  const [s, e] = [minutesOf(w.start), minutesOf(w.end)];
  const inside = s < e ? m >= s && m < e : m >= s || m < e;
  if (inside) return t;
  const today = at(t, w.start);
  return today > t ? today : at(t.plus({ days: 1 }), w.start);
}

/** The instant this recipient's message is due (never before base). */
export function sendAtFor(s: LocalSchedule): Date {
  // Due at once, whatever the zone: the fan-out asks this for every recipient of such a campaign, and
  // a zoned DateTime costs more than the rest of the page's work in the worker.
  if (!s.localTime && !s.window) return new Date(s.base.getTime());
  const zone = pickZone(s.zones);
  const base = DateTime.fromJSDate(s.base, { zone });
  let t: DateTime = base;
  if (s.localTime) {
    t = at(base, s.localTime);
    if (t < base) t = at(base.plus({ days: 1 }), s.localTime);
  }
  if (s.window) t = intoWindow(t, s.window);
  return t.toJSDate();
}
