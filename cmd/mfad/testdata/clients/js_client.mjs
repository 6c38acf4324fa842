// Loads credentials with the AWS SDK for JavaScript v3 and prints them as
// JSON on stdout. Argument: "imds" (fromInstanceMetadata) or "chain"
// (fromNodeProviderChain, what a Node program gets by default). Anything the
// SDK logs at warn or error level goes to stderr. With MFAD_CLIENT_LOOP=N it
// asks for the credentials N times more, as a long-running program does
// before each call, to show how often it goes back to the endpoint.
import { createRequire } from "node:module";
import { fromInstanceMetadata, fromNodeProviderChain } from "@aws-sdk/credential-providers";

const require = createRequire(import.meta.url);
const version = require("@aws-sdk/credential-providers/package.json").version;
const logger = {
  trace() {}, debug() {}, info() {},
  warn: (...args) => console.error("WARN", ...args),
  error: (...args) => console.error("ERROR", ...args),
};
// fromNodeProviderChain caches, as SDK clients do; fromInstanceMetadata
// alone does not, and is only run once.
const provider = process.argv[2] === "imds" ? fromInstanceMetadata({ logger }) : fromNodeProviderChain({ logger });
try {
  for (let i = 0; i < Number(process.env.MFAD_CLIENT_LOOP || 0); i++) await provider();
  const c = await provider();
  console.log(JSON.stringify({
    version,
    key: c.accessKeyId,
    secret: c.secretAccessKey,
    token: c.sessionToken,
    expiration: c.expiration ? c.expiration.toISOString().replace(/\.\d+Z$/, "Z") : "",
  }));
} catch (e) {
  console.log(JSON.stringify({ version, error: String((e && e.message) || e) }));
  process.exit(1);
}
