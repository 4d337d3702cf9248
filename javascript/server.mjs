// The JSON-lines protocol mpksa-conformance/1 (spec 9.3) around the `v1` and `v2` operations of
// wire.mjs.
//
//   mpksa conformance run --impl 'node javascript/server.mjs' --profile v2
//
// One line in, one line out, in request order; stdout carries nothing else, logs go to stderr.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { OPERATION_NAMES, handle, isObject, parseJson, toJson } from "./wire.mjs";

export const PROTOCOL = "mpksa-conformance/1";

export function capabilities() {
  return {
    type: "capabilities",
    protocol: PROTOCOL,
    name: "mpksa-js 0.2 (javascript)",
    profiles: ["v1", "v2"],
    parameterSets: "*",
    operations: [...OPERATION_NAMES],
  };
}

const protocolFault = (id, message) => ({ type: "response", id, error: { code: "malformed-input", message } });

/** The answer to one line of the runner. */
export function answer(line) {
  let message;
  try {
    message = parseJson(line);
  } catch (error) {
    return protocolFault(null, `not a JSON line: ${error.message}`);
  }
  if (!isObject(message)) return protocolFault(null, "a message must be a JSON object");
  if (message.type === "capabilities") return capabilities();
  const id = typeof message.id === "bigint" ? message.id : null;
  if (message.type !== "request" || id === null) return protocolFault(id, "expected a request with an integer id");
  const { type: _type, id: _id, ...request } = message;
  try {
    return { type: "response", id, ...handle(request) };
  } catch (error) {
    // A bug of this implementation, not a verdict on the input: say so, and keep serving.
    process.stderr.write(`internal error on request ${id} (${request.op}): ${error.stack}\n`);
    return { type: "response", id, error: { code: "mpksa-error", message: `internal error: ${error.message}` } };
  }
}

async function main() {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim()) process.stdout.write(toJson(answer(line)) + "\n");
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
