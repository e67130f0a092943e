import { describe, expect, it } from "vitest";
import { operatorSetHeapGrowing } from "./heap-tuning.js";

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
