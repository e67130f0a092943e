/** Human vs --json output, and progress bars only when stderr is a TTY. */
import cliProgress from "cli-progress";

export interface Output {
  readonly json: boolean;
  /** Prints a result: JSON (one document) or the human rendering. */
  result(value: unknown, human: () => string): void;
  /** Informational line on stderr (suppressed with --json). */
  info(line: string): void;
  warn(line: string): void;
  progress(label: string, total: number, unit: "bytes" | "items"): Progress;
}

export interface Progress {
  add(n: number): void;
  setTotal(total: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { add() {}, setTotal() {}, stop() {} };

export function createOutput(json: boolean): Output {
  const tty = Boolean(process.stderr.isTTY) && !json && !process.env.CI;
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
    info(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
    warn(line) {
      process.stderr.write(`warning: ${line}\n`);
    },
    progress(label, total, unit) {
      if (!tty) return NO_PROGRESS;
      const bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {value_fmt}/{total_fmt} | {speed}`,
          hideCursor: true,
          stream: process.stderr,
          formatValue: (v, _o, type) =>
            unit === "bytes" && (type === "value" || type === "total") ? mib(v) : String(v),
        },
        cliProgress.Presets.shades_classic,
      );
      const started = performance.now();
      let value = 0;
      bar.start(total, 0, { value_fmt: "0", total_fmt: fmt(total), speed: "" });
      function fmt(v: number) {
        return unit === "bytes" ? mib(v) : String(v);
      }
      return {
        add(n) {
          value += n;
          const secs = (performance.now() - started) / 1000;
          const speed = unit === "bytes" && secs > 0 ? `${(value / 1e6 / secs).toFixed(1)} MB/s` : "";
          bar.update(value, { value_fmt: fmt(value), speed });
        },
        setTotal(t) {
          bar.setTotal(t);
          bar.update(value, { total_fmt: fmt(t) });
        },
        stop() {
          bar.stop();
        },
      };
    },
  };
}

function mib(v: number): string {
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fixed-width table for human listings. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === null ? "" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? "").padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
