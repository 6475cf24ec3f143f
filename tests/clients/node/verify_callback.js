'use strict';

/**
 * Verify one captured OneTouch callback with the real `authy-client` (npm 1.1.4) `verifyCallback`.
 *
 *   node verify_callback.js '{"host": "unused", "key": "<app API key>", "op": "verifyCallback",
 *                             "args": {"body": {...}, "headers": {...}, "method": "POST",
 *                                      "protocol": "http", "url": "/callback"}}'
 *
 * `args` is the request as an Express app would hand it over: `body` the parsed JSON body,
 * `headers` with lower-case names (the library reads `host`, `x-authy-signature` and
 * `x-authy-signature-nonce`), `method`, `protocol` ("http"/"https") and `url` (the request target:
 * path and query). The library signs `protocol://host + pathname`, so the host header must be the
 * one the server sent. Prints ok:true with the request, or ok:false with the failed asserts.
 */

const { Client } = require('authy-client');
const { run } = require('./harness');

run({
  verifyCallback: (command, done) => {
    const client = new Client({ key: command.key });

    client.verifyCallback(command.args).then(result => done(null, result), err => done(err));
  }
});
