// Loads credentials with the AWS SDK for JavaScript v2 (npm aws-sdk 2.x)
// and prints them as JSON on stdout, like js_client.mjs. Argument: "imds"
// (one AWS.EC2MetadataCredentials) or "chain" (AWS.config.getCredentials,
// what a Node program gets by default). The SDK is used as programs use it:
// no logger. If it never calls back, a program would wait for ever; this
// one says so when Node runs out of work, and exits 1.
//
// MFAD_CLIENT_LOOP=N asks N times more first, as a long-running program
// does before each call. MFAD_CLIENT_AGAIN=1 makes it a long-running
// program: after the first answer it waits for a line on stdin, asks the
// same credentials object again, and prints a second answer.

// The SDK's own end-of-support notice is no warning about mfad.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const AWS = require("aws-sdk");

const version = AWS.VERSION;
let pending = 0;
process.on("exit", () => {
  if (pending > 0) {
    console.log(JSON.stringify({ version, error: "no answer: the SDK never called back (a program would hang)" }));
    process.exitCode = 1;
  }
});

const imds = process.argv[2] === "imds" ? new AWS.EC2MetadataCredentials() : null;
function get(callback) {
  if (imds) {
    imds.get((err) => callback(err, imds));
  } else {
    AWS.config.getCredentials((err) => callback(err, AWS.config.credentials));
  }
}

// attempt asks for credentials (loops more times first) and prints the
// outcome, then calls next with whether it got them.
function attempt(loops, next) {
  pending++;
  get(function done(err, c) {
    if (!err && loops > 0) {
      loops--;
      return c.get((e) => done(e, c));
    }
    pending--;
    let body;
    if (err) body = { error: String(err.message || err) };
    else if (!c || !c.accessKeyId) body = { error: "the SDK called back with no credentials and no error" };
    else body = {
      key: c.accessKeyId,
      secret: c.secretAccessKey,
      token: c.sessionToken,
      expiration: c.expireTime ? c.expireTime.toISOString().replace(/\.\d+Z$/, "Z") : "",
    };
    console.log(JSON.stringify(Object.assign({ version }, body)));
    next(!body.error);
  });
}

attempt(Number(process.env.MFAD_CLIENT_LOOP || 0), (ok) => {
  if (!process.env.MFAD_CLIENT_AGAIN) {
    process.exitCode = ok ? 0 : 1;
    return;
  }
  process.stdin.once("data", () => {
    process.stdin.pause();
    attempt(0, (ok2) => { process.exitCode = ok2 ? 0 : 1; });
  });
});
