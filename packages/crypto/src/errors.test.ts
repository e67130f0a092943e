import { describe, expect, it } from "vitest";
import { CryptoError, isCryptoError } from "./errors.js";
import { SealError } from "./seal.js";

describe("CryptoError.from", () => {
  it("keeps CryptoErrors, maps SealError codes, and wraps the rest as Internal", () => {
    const e = new CryptoError("WrongPassphrase", "wrong");
    expect(CryptoError.from(e)).toBe(e);
    const s = CryptoError.from(new SealError("AuthFailed", "bad tag"));
    expect(s.code).toBe("AuthFailed");
    expect(s.cause).toBeInstanceOf(SealError);
    expect(CryptoError.from(new TypeError("boom"))).toMatchObject({ code: "Internal", message: "boom" });
    expect(CryptoError.from("str").code).toBe("Internal");
    expect(isCryptoError(e, "WrongPassphrase")).toBe(true);
    expect(isCryptoError(e, "KeystoreCorrupt")).toBe(false);
    expect(isCryptoError(new Error("x"))).toBe(false);
  });
});
