/**
 * What each vault provider must do against its FAKE (test/fakes/), beyond the KeyProvider contract:
 * the secrets it writes, reads by pinned version, rotation past an orphaned secret, listing, and
 * the failure paths — unreachable vault, permission denied (distinct, naming provider and secret),
 * corrupt or forged secrets — with no secret value in any error. The fakes differ in how they are
 * driven, so each test file passes a `VaultFakeControls` adapter.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import type { KeyProvider, KeyProviderKind } from "../key-provider.js";
import { KeyProviderError } from "../provider-error.js";
import type { VaultKeyProvider } from "../vault-key-provider.js";

export interface VaultFakeControls {
  readonly kind: KeyProviderKind;
  /** How the provider's messages name the vault, e.g. "region us-east-1". */
  readonly where: string;
  provider(prefix: string): VaultKeyProvider;
  /** A provider whose vault address has nothing listening. */
  unreachable(prefix: string): Promise<KeyProvider>;
  /** A provider whose credential the fake rejects. */
  wrongCredential(prefix: string): KeyProvider;
  /** Refuse reads / creating secrets / adding versions until allow(). */
  deny(what: "read" | "create" | "put"): void;
  allow(): void;
  /** Writes a new version behind the provider's back; returns the version id. */
  rawWrite(name: string, value: string): string;
  rawLatest(name: string): string | undefined;
  /** Names of the secrets that exist now. */
  names(): string[];
  /** The version id the provider asked for in its latest read of `name` (undefined = latest). */
  lastReadVersion(name: string): string | undefined;
  /** Provider-specific detail in a permission-denied message, e.g. "AccessDeniedException". */
  readonly deniedDetail: RegExp;
  /** Removes this prefix's secrets from the vault (real clouds); fakes may do nothing. */
  cleanup?(prefix: string): Promise<void>;
}

const newPrefix = () => `t${randomBytes(4).toString("hex")}`;

export function describeVaultFakeSuite(name: string, controls: () => VaultFakeControls): void {
  describe(`${name}: vault behaviour and failure paths`, () => {
    const track = async <T>(
      prefix: string,
      fn: (track: (p: KeyProvider) => void) => Promise<T>,
    ): Promise<T> => {
      const open: KeyProvider[] = [];
      try {
        return await fn((p) => open.push(p));
      } finally {
        for (const p of open) await p.close();
        await controls().cleanup?.(prefix);
      }
    };

    it("writes {prefix}-1 and {prefix}-current holding inputs only, and reads keys by pinned version", async () => {
      const c = controls();
      const prefix = newPrefix();
      await track(prefix, async (t) => {
        const a = c.provider(prefix);
        t(a);
        const keys = await a.create();
        expect(
          c
            .names()
            .filter((n) => n.startsWith(`${prefix}-`))
            .sort(),
        ).toEqual([`${prefix}-1`, `${prefix}-current`]);
        const pinned = (await a.showCurrent()).version;
        const record = c.rawLatest(`${prefix}-1`)!;
        expect(JSON.parse(record)).toMatchObject({
          format: "enigma-ha/provider-key/v1",
          derivation: "ml-kem-768-hybrid",
          keyId: 1,
          keystoreId: keys.keystoreId,
        });
        expect(Object.keys(JSON.parse(record) as object)).toEqual(
          expect.arrayContaining(["mlKem768Seed", "mlKem768PublicKey", "mlKem768Ciphertext", "rootInput"]),
        );
        for (const k of [keys.nameKey, keys.chainKey, keys.credKey]) {
          expect(record).not.toContain(k.toString("base64"));
          expect(record).not.toContain(k.toString("hex"));
        }
        expect(JSON.parse(c.rawLatest(`${prefix}-current`)!)).toEqual({
          format: "enigma-ha/provider-pointer/v1",
          keystoreId: keys.keystoreId,
          current: 1,
          keys: [{ keyId: 1, version: pinned }],
        });

        // A later version of the key secret (an edit in the console) does not change any node's keys.
        const altered = record.replace(
          /"rootInput":"[^"]+"/,
          `"rootInput":"${randomBytes(32).toString("base64")}"`,
        );
        expect(c.rawWrite(`${prefix}-1`, altered)).not.toBe(pinned);
        const b = c.provider(prefix);
        t(b);
        expect((await b.open()).nameKey.equals(keys.nameKey)).toBe(true);
        expect(c.lastReadVersion(`${prefix}-1`)).toBe(pinned);
      });
    });

    it("rotates past an orphaned key secret, and lists the keys the pointer names", async () => {
      const c = controls();
      const prefix = newPrefix();
      await track(prefix, async (t) => {
        const a = c.provider(prefix);
        const other = c.provider(prefix);
        t(a);
        t(other);
        await a.create();
        await other.open();
        // A rotation that dies after creating {prefix}-2 but before moving the pointer.
        c.deny("put");
        await expect(other.rotate()).rejects.toMatchObject({ code: "PermissionDenied" });
        c.allow();
        expect(c.names()).toContain(`${prefix}-2`);
        expect(await a.rotate({ nowMs: 5_000 })).toMatchObject({
          keyId: 3,
          current: true,
          secretName: `${prefix}-3`,
          createdAtMs: 5_000,
        });
        const late = c.provider(prefix);
        t(late);
        const list = await late.list();
        expect(list.map((k) => [k.keyId, k.current, k.secretName])).toEqual([
          [1, false, `${prefix}-1`],
          [3, true, `${prefix}-3`],
        ]);
        expect((await late.open()).currentKeyId).toBe(3);
      });
    });

    it("lists and deletes exactly its own prefix's secrets (destroyAllSecrets)", async () => {
      const c = controls();
      const prefix = newPrefix();
      const neighbour = newPrefix();
      await track(prefix, async (t) => {
        const a = c.provider(prefix);
        const b = c.provider(neighbour);
        t(a);
        t(b);
        await a.create();
        await a.rotate();
        await b.create();
        expect((await a.destroyAllSecrets()).sort()).toEqual([
          `${prefix}-1`,
          `${prefix}-2`,
          `${prefix}-current`,
        ]);
        expect(c.names().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
        expect(c.names()).toContain(`${neighbour}-current`);
        const again = c.provider(prefix);
        t(again);
        await expect(again.open()).rejects.toMatchObject({ code: "SecretNotFound" });
        await again.create(); // the names are free again (Azure: purged, not just soft-deleted)
        await b.destroyAllSecrets();
      });
    });

    it("reports an unreachable vault naming the provider and the pointer secret", async () => {
      const c = controls();
      const p = await c.unreachable("unreachable");
      try {
        const err = (await p.open().catch((e: unknown) => e)) as KeyProviderError;
        expect(err).toBeInstanceOf(KeyProviderError);
        expect(err).toMatchObject({
          code: "VaultUnreachable",
          provider: c.kind,
          secretName: "unreachable-current",
        });
        expect(err.message).toMatch(
          new RegExp(
            `^${c.kind} \\(.+\\): vault unreachable reading secret "unreachable-current" \\(ECONNREFUSED\\)`,
          ),
        );
      } finally {
        await p.close();
      }
    });

    it("reports permission denied distinctly, and puts no secret value in errors", async () => {
      const c = controls();
      const prefix = newPrefix();
      await track(prefix, async (t) => {
        const a = c.provider(prefix);
        t(a);
        await a.create();
        c.deny("read");
        try {
          const b = c.provider(prefix);
          t(b);
          const err = (await b.open().catch((e: unknown) => e)) as KeyProviderError;
          expect(err).toMatchObject({
            code: "PermissionDenied",
            provider: c.kind,
            secretName: `${prefix}-current`,
          });
          expect(err.message).toContain(`permission denied reading secret "${prefix}-current"`);
          expect(err.message).toMatch(c.deniedDetail);
        } finally {
          c.allow();
        }
        c.deny("create");
        try {
          const err = (await a.rotate().catch((e: unknown) => e)) as KeyProviderError;
          expect(err).toMatchObject({ code: "PermissionDenied", secretName: `${prefix}-2` });
          expect(err.cause).toBeUndefined();
          const dump = `${err.message} ${inspect(err, { depth: 10 })} ${JSON.stringify(err)}`;
          expect(dump).not.toMatch(/rootInput|mlKem768Seed|keyCheck/);
        } finally {
          c.allow();
        }
        const wrong = c.wrongCredential(prefix);
        t(wrong);
        await expect(wrong.open()).rejects.toMatchObject({ code: "PermissionDenied", provider: c.kind });
      });
    });

    it("reports a corrupt pointer, and a forged key, as SecretCorrupt naming the secret", async () => {
      const c = controls();
      const prefix = newPrefix();
      await track(prefix, async (t) => {
        const a = c.provider(prefix);
        t(a);
        await a.create();
        await a.rotate();
        const pointer = c.rawLatest(`${prefix}-current`)!;
        const record2 = c.rawLatest(`${prefix}-2`)!;

        c.rawWrite(`${prefix}-current`, "{not json");
        const p1 = c.provider(prefix);
        t(p1);
        await expect(p1.open()).rejects.toMatchObject({
          code: "SecretCorrupt",
          secretName: `${prefix}-current`,
        });

        // Someone who can write the vault but not read key 1 forges key 2: its auth cannot verify.
        const forged = JSON.parse(record2) as Record<string, unknown>;
        forged.auth = "0".repeat(64);
        const version = c.rawWrite(`${prefix}-2`, JSON.stringify(forged));
        const moved = JSON.parse(pointer) as { keys: { keyId: number; version: string }[] };
        moved.keys[1]!.version = version;
        c.rawWrite(`${prefix}-current`, JSON.stringify(moved));
        const p2 = c.provider(prefix);
        t(p2);
        const err = (await p2.open().catch((e: unknown) => e)) as KeyProviderError;
        expect(err).toMatchObject({ code: "SecretCorrupt", secretName: `${prefix}-2` });
        expect(err.message).toContain("not authenticated");
      });
    });
  });
}
