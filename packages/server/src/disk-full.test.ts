import { StorageError } from "@enigma/storage";
import { describe, expect, it } from "vitest";
import { isDiskFull } from "./disk-full.js";

const errno = (code: string) => Object.assign(new Error(code), { code });

describe("isDiskFull", () => {
  it("finds a full disk in an error, its causes and aggregated errors", () => {
    expect(isDiskFull(errno("ENOSPC"))).toBe(true);
    expect(isDiskFull(errno("EDQUOT"))).toBe(true);
    expect(isDiskFull(new Error("commit failed", { cause: errno("SQLITE_FULL") }))).toBe(true);
    expect(isDiskFull(new StorageError("NoSpace", "local", "put"))).toBe(true);
    const spread = new StorageError("Unavailable", "a,b", "stored on 0 of 2", {
      cause: new AggregateError([errno("ECONNRESET"), errno("ENOSPC")]),
    });
    expect(isDiskFull(spread)).toBe(true);
  });

  it("says no for other failures and for cycles", () => {
    expect(isDiskFull(errno("EIO"))).toBe(false);
    expect(isDiskFull(new Error("x", { cause: new AggregateError([errno("ETIMEDOUT")]) }))).toBe(false);
    expect(isDiskFull("ENOSPC")).toBe(false);
    const a: { code: string; cause?: unknown } = { code: "EIO" };
    a.cause = a;
    expect(isDiskFull(a)).toBe(false);
  });
});
