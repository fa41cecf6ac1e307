import { describe, expect, it } from "vitest";
import { findUnsafeUrl, urlScheme } from "./url-safety.ts";

describe("findUnsafeUrl", () => {
  it("when an href or src carries javascript:, vbscript: or data: in any disguise, then it is found", () => {
    const disguises = [
      '<a href="javascript:alert(1)">x</a>',
      '<a href="JaVaScRiPt:alert(1)">x</a>',
      '<a href="   javascript:alert(1)">x</a>',
      '<a href="jav&#x09;ascript:alert(1)">x</a>',
      '<a href="jav&#9;ascript:alert(1)">x</a>',
      '<a href="&#106;avascript:alert(1)">x</a>',
      '<a href="&#x6A&#x61vascript:alert(1)">x</a>',
      '<a href="javascript&colon;alert(1)">x</a>',
      '<a href="java\nscript:alert(1)">x</a>',
      '<a href="&#x20;&#x0A;javascript:alert(1)">x</a>',
      "<a href='javascript:alert(1)'>x</a>",
      "<a href=javascript:alert(1)>x</a>",
      '<A HREF = "javascript:alert(1)">x</A>',
      '<a title="x" href="vbscript:msgbox(1)">x</a>',
      '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
      '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
      '<iframe src="javascript:alert(1)"></iframe>',
      '<form action="javascript:alert(1)"></form>',
      '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
      '<p>ok</p><a href="https://ok.test">ok</a><a href="javascript:void(0)">second</a>',
    ];
    for (const html of disguises) expect(findUnsafeUrl(html), html).not.toBeNull();
    expect(findUnsafeUrl('<a class=x href="JAVA&#x0D;SCRIPT:x">')).toEqual({ attribute: "href", scheme: "javascript" });
  });

  it("when URLs are ordinary, or the scheme text is not in a URL attribute, then nothing is found", () => {
    const fine = [
      '<a href="https://example.com/javascript:x">x</a>',
      '<a href="/relative?next=javascript:x">x</a>',
      '<a href="mailto:a@example.com">x</a>',
      '<a href="#top">x</a>',
      '<a href="">x</a><a href>y</a>',
      '<p title="javascript:alert(1)">text javascript:alert(1) href="javascript:x"</p>',
      '<!-- <a href="javascript:alert(1)">x</a> -->',
      '<style>a[href="javascript:x"] { color: red; }</style><title><a href="javascript:x"></title>',
      '<a data-href="javascript:x" title=\'a href="javascript:x"\'>x</a>',
      '<img src="data:image/png;base64,iVBORw0KGgo=">',
      '<a href="https://x.test/?a=1&amp;b=2">x</a>',
    ];
    for (const html of fine) expect(findUnsafeUrl(html), html).toBeNull();
  });

  it("when reading a scheme, then references are decoded as a browser does and out-of-range ones do not throw", () => {
    expect(urlScheme("&#x110000;javascript:x")).toBeNull();
    expect(urlScheme("\u0000 javascript:x")).toBe("javascript");
    expect(urlScheme("HTTPS://x")).toBe("https");
  });

  it("when the HTML is large, then the scan is linear (milliseconds; a rescan per tag would take minutes)", () => {
    const html = '<p><a href="https://x.test/a" title="t">link</a></p>'.repeat(10_000);
    const started = performance.now();
    expect(findUnsafeUrl(`${html}<a href="javascript:x">`)).not.toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("when the HTML is built against the scan (a possible scheme in every tag, long runs of spaces after \"=\"), then it stays linear", () => {
    const started = performance.now();
    expect(findUnsafeUrl('<img src="data:image/png;base64,x" title=\'x">'.repeat(20_000))).toBeNull();
    expect(findUnsafeUrl(`<a x="= 'y">`.repeat(30_000))).toBeNull();
    // A regex retrying every split of the spaces around a quote took seconds here.
    expect(findUnsafeUrl(`<a x=${" ".repeat(100_000)}" dark>`)).toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
