/**
 * The command codec: the bytes of a Raft log entry. A JSON envelope
 *   { "v": 1, "requestId"?: string, "command": { "type": ..., ... } }
 * encoded as UTF-8. Encode validates exactly as decode does, so a command that would not decode is
 * refused at the proposer instead of reaching the log. On the apply side an undecodable entry
 * throws; the FSM treats that as fatal (rqlite's rule: never skip a committed entry).
 */
import type { Command, CommandType } from "../commands.js";
import { ManifestError } from "../errors.js";
import { isPlainObject, nonEmptyStr } from "./checks.js";
import { COMMAND_CHECKS } from "./command-checks.js";

export const CODEC_VERSION = 1;
/** A request id is chosen by the proposer (e.g. a UUID) and identifies retries of one request. */
export const MAX_REQUEST_ID_CHARS = 128;

export interface CommandEnvelope {
  readonly requestId?: string;
  readonly command: Command;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const checkRequestId = nonEmptyStr(MAX_REQUEST_ID_CHARS);

/** Throws ManifestError (UnknownCommand / InvalidCommand) unless `value` is a valid Command. */
export function validateCommand(value: unknown): Command {
  if (!isPlainObject(value)) {
    throw new ManifestError("InvalidCommand", "invalid command: command must be an object");
  }
  const type = value.type;
  if (typeof type !== "string" || !Object.hasOwn(COMMAND_CHECKS, type)) {
    throw new ManifestError(
      "UnknownCommand",
      `unknown command type ${JSON.stringify(type)?.slice(0, 80) ?? "undefined"}`,
    );
  }
  COMMAND_CHECKS[type as CommandType](value, "command");
  return value as unknown as Command;
}

export function encodeEnvelope(envelope: CommandEnvelope): Uint8Array {
  validateCommand(envelope.command);
  if (envelope.requestId !== undefined) checkRequestId(envelope.requestId, "requestId");
  const wire =
    envelope.requestId === undefined
      ? { v: CODEC_VERSION, command: envelope.command }
      : { v: CODEC_VERSION, requestId: envelope.requestId, command: envelope.command };
  return encoder.encode(JSON.stringify(wire));
}

export function decodeEnvelope(bytes: Uint8Array): CommandEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new ManifestError(
      "Undecodable",
      `undecodable command entry (${bytes.length} bytes): not UTF-8 JSON`,
      {
        cause: err,
      },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new ManifestError("Undecodable", "undecodable command entry: envelope is not an object");
  }
  for (const k of Object.keys(parsed)) {
    if (k !== "v" && k !== "requestId" && k !== "command") {
      throw new ManifestError("Undecodable", `undecodable command entry: unknown envelope field ${k}`);
    }
  }
  const v = parsed.v;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ManifestError("Undecodable", "undecodable command entry: missing codec version");
  }
  if (v > CODEC_VERSION) {
    throw new ManifestError(
      "UnsupportedVersion",
      `command entry has codec version ${v}, newer than this build's ${CODEC_VERSION}; upgrade enigma`,
    );
  }
  const command = validateCommand(parsed.command);
  if (parsed.requestId === undefined) return { command };
  checkRequestId(parsed.requestId, "requestId");
  return { requestId: parsed.requestId as string, command };
}

export function encodeCommand(command: Command): Uint8Array {
  return encodeEnvelope({ command });
}

export function decodeCommand(bytes: Uint8Array): Command {
  return decodeEnvelope(bytes).command;
}
