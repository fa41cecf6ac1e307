// Printing for the CLI: JSON with --json, else aligned tables, and a progress bar on stderr.

export function print(json: boolean | undefined, data: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : human());
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "-" : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns), ...cells.map(line)].join("\n");
}

/** A bar on stderr: redrawn in place on a terminal, else one line per tenth done. */
export function progressBar(label: string) {
  let lastTenth = -1;
  return {
    update(done: number, total: number) {
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const text = `${label} [${"#".repeat(Math.round(share * 30)).padEnd(30, ".")}] ${done}/${total} ${Math.round(share * 100)}%`;
      if (process.stderr.isTTY) process.stderr.write(`\r${text}`);
      else if (Math.floor(share * 10) > lastTenth) {
        lastTenth = Math.floor(share * 10);
        process.stderr.write(`${text}\n`);
      }
    },
    end() {
      if (process.stderr.isTTY) process.stderr.write("\n");
    },
  };
}
