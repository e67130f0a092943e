/**
 * `enigma keys migrate`: copy a key set from one provider to another (local → vault, vault →
 * local, vault → vault) without changing a key, so no chunk is re-encrypted or renamed and every
 * wrapped data key in the manifest still unwraps. The target must be empty; the source is left
 * as it is (the operator retires it after switching key_provider).
 */
import { randomBytes } from "node:crypto";
import { CryptoError } from "../errors.js";
import type { KeyProvider } from "./key-provider.js";
import { wipeKeySet } from "./key-record.js";

export interface MigrationResult {
  readonly keystoreId: string;
  readonly keyIds: readonly number[];
  readonly currentKeyId: number;
}

/** Copies, then opens both sides and checks that they agree on every key. Fails with the providers' codes. */
export async function migrateKeySet(from: KeyProvider, to: KeyProvider): Promise<MigrationResult> {
  const set = await from.exportKeySet();
  try {
    await to.importKeySet(set);
  } finally {
    wipeKeySet(set);
  }
  const a = await from.open();
  const b = await to.refresh();
  const same =
    a.keystoreId === b.keystoreId &&
    a.currentKeyId === b.currentKeyId &&
    a.keyIds().join() === b.keyIds().join() &&
    a.nameKey.equals(b.nameKey) &&
    a.chainKey.equals(b.chainKey) &&
    a.credKey.equals(b.credKey) &&
    a.clusterSecretSeed.equals(b.clusterSecretSeed);
  // The current kek, both ways (older keks come from the same records, each verified on import).
  const probe = randomBytes(32);
  const agrees =
    same &&
    b.unwrapDataKey(0, a.wrapDataKey(0, probe)).equals(probe) &&
    a.unwrapDataKey(0, b.wrapDataKey(0, probe)).equals(probe);
  probe.fill(0);
  if (!agrees)
    throw new CryptoError(
      "Internal",
      `migration to ${to.description} produced different keys; do not switch to it`,
    );
  return { keystoreId: a.keystoreId, keyIds: a.keyIds(), currentKeyId: a.currentKeyId };
}
