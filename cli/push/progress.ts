// What `push` shows while it runs: a live bar on a terminal (cli-progress), a plain line every few
// seconds elsewhere (a log, CI), nothing with --quiet. All on standard error.
import cliProgress from "cli-progress";
import { counted, number } from "../counted.js";

export interface Counts {
  readonly rowsRead: number;
  readonly rowsRejected: number;
  readonly filesSubmitted: number;
  readonly filesComplete: number;
  /** Input bytes read, and the input's size (unknown for standard input). */
  readonly bytesRead: number;
  readonly bytesTotal: number | undefined;
}

export interface Progress {
  show(counts: Counts): void;
  stop(): void;
}

/** Rows a second since `started`. */
const rate = (rows: number, started: number) => Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));

export function createProgress(mode: "bar" | "lines" | "none", label: string): Progress {
  const started = Date.now();
  if (mode === "none") return { show: () => undefined, stop: () => undefined };
  if (mode === "lines") {
    let last = 0;
    let latest: Counts | undefined;
    const line = (counts: Counts) =>
      `${label}: ${counted(counts.rowsRead, "row")} read, ${number(counts.rowsRejected)} rejected, ` +
      `${counted(counts.filesSubmitted, "file")} submitted, ${number(counts.filesComplete)} complete, ${number(rate(counts.rowsRead, started))} rows/s`;
    return {
      show(counts) {
        latest = counts;
        if (Date.now() - last < 5_000) return;
        last = Date.now();
        process.stderr.write(`${line(counts)}\n`);
      },
      stop() {
        if (latest) process.stderr.write(`${line(latest)}\n`);
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {rows} read, {rejected} rejected | files: {submitted} submitted, {complete} complete | {rate} rows/s | {eta_formatted} left`,
      barsize: 20,
      hideCursor: true,
      etaBuffer: 50,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let begun = false;
  return {
    show(counts) {
      const payload = {
        rows: counted(counts.rowsRead, "row"),
        rejected: number(counts.rowsRejected),
        submitted: counts.filesSubmitted,
        complete: counts.filesComplete,
        rate: number(rate(counts.rowsRead, started)),
      };
      // Without a size (standard input), the bar follows files rather than bytes.
      const total = counts.bytesTotal ?? 0;
      if (!begun) {
        bar.start(total || 1, 0, payload);
        begun = true;
      }
      bar.update(total ? Math.min(counts.bytesRead, total) : 0, payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
