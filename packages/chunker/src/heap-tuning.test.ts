import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { operatorSetHeapGrowing, operatorSetMallocThresholds, raiseMallocThresholds } from "./heap-tuning.js";

describe("heap tuning", () => {
  it("leaves the heap growing factor to an operator who set one", () => {
    expect(operatorSetHeapGrowing(["--heap-growing-percent=50"], undefined)).toBe(true);
    expect(operatorSetHeapGrowing([], "--max-old-space-size=512 --heap_growing_percent=80")).toBe(true);
    expect(operatorSetHeapGrowing(["--heap-growing-percent"], "")).toBe(true);
  });

  it("applies its own otherwise (other flags do not count)", () => {
    expect(operatorSetHeapGrowing([], undefined)).toBe(false);
    expect(operatorSetHeapGrowing(["--enable-source-maps"], "--max-old-space-size=512")).toBe(false);
    expect(operatorSetHeapGrowing([], "--heap-growing-percentage-typo=1")).toBe(false);
  });
});

describe("malloc thresholds", () => {
  it("are left to an operator who set them", () => {
    expect(operatorSetMallocThresholds({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1048576" })).toBe(true);
    expect(
      operatorSetMallocThresholds({
        GLIBC_TUNABLES: "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1",
      }),
    ).toBe(true);
    expect(operatorSetMallocThresholds({ MALLOC_TRIM_THRESHOLD_: "1" })).toBe(true);
    expect(operatorSetMallocThresholds({ MALLOC_MMAP_THRESHOLD_: "1" })).toBe(true);
    expect(operatorSetMallocThresholds({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" })).toBe(false);
    expect(operatorSetMallocThresholds({})).toBe(false);
    expect(raiseMallocThresholds({ MALLOC_TRIM_THRESHOLD_: "1" })).toBe(false);
  });

  // The churn of the seal worker (cipher output slices freed in bulk at each young GC) in a fresh
  // process, with and without the probe: its page faults are what the tuning exists to remove.
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header?.glibcVersionRuntime;
  const churn = `
    import { createCipheriv, randomBytes } from "node:crypto";
    import { readFileSync } from "node:fs";
    import { setFlagsFromString } from "node:v8";
    import { runInNewContext } from "node:vm";
    import { Worker } from "node:worker_threads";
    if (process.env.TUNE === "1") (await import(${JSON.stringify(new URL("./heap-tuning.ts", import.meta.url).href)})).raiseMallocThresholds(process.env);
    const w = new Worker(\`
      const { createCipheriv, randomBytes } = require("node:crypto");
      const { readFileSync } = require("node:fs");
      const { setFlagsFromString } = require("node:v8");
      const { runInNewContext } = require("node:vm");
      const { parentPort } = require("node:worker_threads");
      setFlagsFromString("--expose-gc");
      const collect = runInNewContext("gc");
      const faults = () => { const s = readFileSync("/proc/thread-self/stat", "utf8"); return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[7]); };
      const plain = randomBytes(4 << 20);
      const out = Buffer.allocUnsafeSlow((4 << 20) + 64);
      const f0 = faults();
      for (let i = 0; i < 32; i++) {
        const c = createCipheriv("aes-256-gcm", randomBytes(32), randomBytes(12));
        for (let p = 0; p < plain.length; p += 256 << 10) c.update(plain.subarray(p, p + (256 << 10))).copy(out, p);
        c.final();
        if (i % 2 === 1) collect({ type: "minor" });
      }
      parentPort.postMessage(faults() - f0);
    \`, { eval: true, execArgv: [] });
    w.once("message", (n) => { console.log(n); process.exit(0); });
  `;
  const faults = (tune: boolean): number => {
    const env: NodeJS.ProcessEnv = { ...process.env, TUNE: tune ? "1" : "0" };
    delete env.GLIBC_TUNABLES;
    delete env.MALLOC_TRIM_THRESHOLD_;
    delete env.MALLOC_MMAP_THRESHOLD_;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", churn], {
      env,
    });
    return Number(out.toString().trim());
  };

  it.skipIf(process.platform !== "linux" || glibc === undefined)(
    "after the probe, freeing cipher output in bulk no longer hands pages back to the kernel (glibc)",
    () => {
      if (glibc === undefined)
        console.log("skipped: not glibc (the probe targets glibc's dynamic thresholds)");
      const untuned = faults(false);
      const tuned = faults(true);
      console.log(`page faults of 128 MiB of cipher churn: ${untuned} untuned, ${tuned} after the probe`);
      // 128 MiB of ciphertext is 32,768 pages: untuned, most are faulted in afresh.
      expect(untuned).toBeGreaterThan(8_000);
      expect(tuned).toBeLessThan(untuned / 4);
    },
    60_000,
  );
});
