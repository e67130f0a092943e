import type { Manifest } from "@enigma/manifest";
import { CliError, ExitCode } from "../exit-codes.js";

/** A backup by id, or the latest complete backup with that name. */
export function resolveBackup(
  manifest: Manifest,
  idOrName: string,
  opts: { allowIncomplete?: boolean } = {},
) {
  const all = manifest.listBackups();
  const byId = all.find((b) => b.id === idOrName);
  if (byId) {
    if (byId.state !== "complete" && !opts.allowIncomplete) {
      throw new CliError(ExitCode.NotFound, `backup ${idOrName} is ${byId.state}, not complete`);
    }
    return byId;
  }
  const named = all
    .filter((b) => b.name === idOrName && (b.state === "complete" || opts.allowIncomplete))
    .sort((a, b) => b.startedAtMs - a.startedAtMs);
  const found = named[0];
  if (!found) throw new CliError(ExitCode.NotFound, `no complete backup with id or name "${idOrName}"`);
  return found;
}
