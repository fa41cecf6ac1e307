import { describe, expect, it } from "vitest";
import { isForbiddenAddress } from "./ssrf.ts";

describe("isForbiddenAddress", () => {
  it.each([
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.255", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255",
    "::1", "::", "[::1]", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::ffff:7f00:1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "not-an-ip",
  ])("when the address is %s, then it is refused", (a) => {
    expect(isForbiddenAddress(a)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700:4700::1111", "2a00:1450:4001::1"])(
    "when the address is public (%s), then it is allowed",
    (a) => {
      expect(isForbiddenAddress(a)).toBe(false);
    },
  );
});
