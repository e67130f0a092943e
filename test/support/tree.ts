/** Builds and compares directory trees for round-trip tests. */
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

export interface TreeSpec {
  /** Size in MiB of the big file. */
  readonly bigMiB: number;
}

/** A tree with nested dirs, empty files, a big file, duplicates, non-ASCII names, symlinks and modes. */
export function makeTree(root: string, spec: TreeSpec): void {
  mkdirSync(join(root, "a", "b", "c"), { recursive: true });
  mkdirSync(join(root, "empty-dir"));
  mkdirSync(join(root, "ünïcødé ✓"));
  writeFileSync(join(root, "empty.txt"), "");
  writeFileSync(join(root, "a", "zero"), Buffer.alloc(0));
  const big = randomBytes(spec.bigMiB * 1024 * 1024);
  writeFileSync(join(root, "a", "big.bin"), big);
  writeFileSync(join(root, "a", "b", "big-copy.bin"), big);
  const small = randomBytes(100_000);
  writeFileSync(join(root, "a", "b", "c", "small.bin"), small);
  writeFileSync(join(root, "a", "b", "c", "small-dup.bin"), small);
  writeFileSync(join(root, "ünïcødé ✓", "日本語.txt"), "こんにちは\n");
  writeFileSync(join(root, "script.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(root, "script.sh"), 0o755);
  writeFileSync(join(root, "secret.txt"), "s3cr3t");
  chmodSync(join(root, "secret.txt"), 0o600);
  chmodSync(join(root, "a", "b"), 0o750);
  symlinkSync("a/big.bin", join(root, "link-to-big"));
  symlinkSync("does/not/exist", join(root, "dangling"));
  symlinkSync("../a", join(root, "empty-dir", "dirlink"));
}

export interface TreeEntry {
  readonly kind: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly sha256?: string;
  readonly target?: string;
}

/** path → entry, for every entry under root (symlinks not followed). */
export function snapshotTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.set(path, { kind: "symlink", mode: 0, target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.set(path, { kind: "dir", mode });
        visit(abs, path);
      } else
        out.set(path, {
          kind: "file",
          mode,
          sha256: createHash("sha256").update(readFileSync(abs)).digest("hex"),
        });
    }
  };
  visit(root, "");
  return out;
}
