/**
 * `enigma init`: creates the config dir, enigma.toml (kept if present), the keystore (kept if
 * present) and the manifest with a first data key. Only what is missing is added.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createKeystore } from "@enigma/crypto";
import { renderDefaultConfig } from "@enigma/server";
import type { Context } from "../context.js";

export async function initCommand(ctx: Context): Promise<void> {
  const loaded = ctx.loaded();
  mkdirSync(loaded.configDir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  if (!loaded.fileExists) {
    writeFileSync(loaded.configFile, renderDefaultConfig(), { mode: 0o600, flag: "wx" });
    created.push(loaded.configFile);
  }
  const settings = ctx.settings();
  if (!existsSync(settings.keyfilePath)) {
    const pass = await ctx.passphrase(true);
    mkdirSync(dirname(settings.keyfilePath), { recursive: true, mode: 0o700 });
    await createKeystore(settings.keyfilePath, pass);
    created.push(settings.keyfilePath);
  }
  const hadDb = existsSync(settings.dbPath);
  const engine = await ctx.engine(); // runs migrations, creates the first data key
  if (!hadDb) created.push(settings.dbPath);
  const summary = {
    configDir: loaded.configDir,
    configFile: loaded.configFile,
    keystore: settings.keyfilePath,
    manifest: settings.dbPath,
    providers: settings.providers.map((p) => ({ name: p.name, type: p.type, bucket: p.bucket })),
    dataKeys: engine.keyring.ids(),
    created,
  };
  ctx.out.result(summary, () =>
    [
      created.length
        ? `initialized ${loaded.configDir}`
        : `${loaded.configDir} already initialized; nothing to add`,
      ...created.map((c) => `  created ${c}`),
      `  storage: ${summary.providers.map((p) => `${p.name} (${p.type}: ${p.bucket})`).join(", ")}`,
    ].join("\n"),
  );
}
