import { describe, expect, it } from "vitest";
import { sendAtFor } from "./local-time.ts";

const base = new Date("2026-03-08T00:00:00Z"); // US DST starts 2026-03-08 02:00 local

describe("sendAtFor", () => {
  it("when localTime is 09:00, then each zone gets its own 09:00, DST-correct (New York is UTC-4 after the change)", () => {
    const s = (zone: string) => sendAtFor({ base, localTime: "09:00", window: null, zones: [zone] }).toISOString();
    expect(s("Asia/Tokyo")).toBe("2026-03-08T00:00:00.000Z"); // 09:00 JST on 03-08 is the base instant itself
    expect(s("Europe/Berlin")).toBe("2026-03-08T08:00:00.000Z");
    expect(s("America/New_York")).toBe("2026-03-08T13:00:00.000Z"); // EDT (UTC-4) on the day of the change
  });

  it("when the recipient has no valid timezone, then the default applies, else UTC", () => {
    expect(sendAtFor({ base, localTime: "09:00", window: null, zones: [null, "Europe/Berlin"] }).toISOString()).toBe("2026-03-08T08:00:00.000Z");
    expect(sendAtFor({ base, localTime: "09:00", window: null, zones: ["Not/AZone"] }).toISOString()).toBe("2026-03-08T09:00:00.000Z");
  });

  it("when the local time is 23:00 and the window is 08:00-21:00, then the message waits until 08:00 next morning", () => {
    const late = new Date("2026-06-01T21:00:00Z"); // 23:00 in Berlin (CEST)
    expect(sendAtFor({ base: late, localTime: null, window: { start: "08:00", end: "21:00" }, zones: ["Europe/Berlin"] }).toISOString())
      .toBe("2026-06-02T06:00:00.000Z");
    // Inside the window: unchanged.
    const noon = new Date("2026-06-01T10:00:00Z");
    expect(sendAtFor({ base: noon, localTime: null, window: { start: "08:00", end: "21:00" }, zones: ["Europe/Berlin"] })).toEqual(noon);
    // A window across midnight (22:00-06:00): 23:00 is inside.
    expect(sendAtFor({ base: late, localTime: null, window: { start: "22:00", end: "06:00" }, zones: ["Europe/Berlin"] })).toEqual(late);
  });

  it("when neither a local time nor a window is set, then every recipient is due at the base instant, whatever the zone", () => {
    for (const zones of [["Asia/Tokyo"], ["America/New_York"], [null, "Not/AZone"], []]) {
      const at = sendAtFor({ base, localTime: null, window: null, zones });
      expect(at).toEqual(base);
      expect(at).not.toBe(base); // a copy: the caller's Date is not shared
    }
  });
});
