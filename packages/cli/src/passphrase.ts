/**
 * Passphrase from --passphrase, ENIGMA_PASSPHRASE, or a hidden prompt on a TTY. Only the local
 * keystore (`key_provider = "local"`) has one: commands on a vault key provider never ask
 * (context.ts asks lazily, when the keystore file is actually read).
 */
import { CliError, ExitCode } from "./exit-codes.js";

export interface PassphraseSource {
  readonly flag?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Ask twice and compare (init). */
  readonly confirm?: boolean;
}

export const MIN_PASSPHRASE_CHARS = 8;

export async function readPassphrase(src: PassphraseSource): Promise<string> {
  const env = src.env ?? process.env;
  const given = src.flag ?? env.ENIGMA_PASSPHRASE;
  let pass: string;
  if (given !== undefined && given !== "") {
    pass = given;
  } else if (process.stdin.isTTY && process.stderr.isTTY) {
    pass = await promptHidden("Passphrase: ");
    if (src.confirm) {
      const again = await promptHidden("Repeat passphrase: ");
      if (again !== pass) throw new CliError(ExitCode.Usage, "passphrases do not match");
    }
  } else {
    throw new CliError(
      ExitCode.Keystore,
      "no passphrase for the local keystore: pass --passphrase, set ENIGMA_PASSPHRASE, or run on a " +
        "terminal to be prompted (a vault key_provider needs none)",
    );
  }
  if (src.confirm && pass.length < MIN_PASSPHRASE_CHARS) {
    throw new CliError(ExitCode.Usage, `passphrase too short (minimum ${MIN_PASSPHRASE_CHARS} characters)`);
  }
  return pass;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    let buf = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError(ExitCode.Interrupted, "interrupted"));
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on("data", onData);
  });
}
