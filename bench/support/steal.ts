import { readFileSync } from "node:fs";

/**
 * CPU time the hypervisor gave to other guests (/proc/stat "steal"), as a share of all CPU time,
 * or null where the kernel does not report it. On this VM it moves the pipelined figures most: the
 * gateway PUT needs both cores while the reference runs on one.
 */
export const cpuTimes = (): { steal: number; total: number } | null => {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return f.length >= 8 ? { steal: f[7]!, total: f.slice(0, 8).reduce((a, b) => a + b, 0) } : null;
  } catch {
    return null;
  }
};
export const stealPercent = (
  a: ReturnType<typeof cpuTimes>,
  b: ReturnType<typeof cpuTimes>,
): number | null =>
  a === null || b === null || b.total <= a.total
    ? null
    : Number(((100 * (b.steal - a.steal)) / (b.total - a.total)).toFixed(1));
