/** Test PKI: a CA and a certificate for 127.0.0.1 it signed, made with the openssl CLI. */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TlsMaterial } from "../grpc/channel.js";

/**
 * A CA and a certificate for 127.0.0.1 signed by it (EC P-256), as files in `dir`
 * (`name-ca.pem`, `name.pem`, `name.key`) and as material; undefined without openssl.
 */
export function makePki(dir: string, name: string): TlsMaterial | undefined {
  const o = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    o(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${name}-ca.key`,
      "-out",
      `${name}-ca.pem`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}-ca`,
    );
    o("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    writeFileSync(
      join(dir, `${name}.ext`),
      "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    o(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${name}-ca.pem`,
      "-CAkey",
      `${name}-ca.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  } catch {
    return undefined;
  }
  const r = (f: string) => readFileSync(join(dir, f));
  return { cert: r(`${name}.pem`), key: r(`${name}.key`), ca: r(`${name}-ca.pem`) };
}
