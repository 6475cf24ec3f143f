'use strict';

/**
 * Shared plumbing for the one-call scripts run by tests/clients/test_authy_node.py.
 *
 * A script reads ONE JSON command from argv[2] (or stdin when absent), makes ONE call with a real
 * Authy client library and prints ONE JSON line on stdout:
 *   {"ok": true, "result": <the library's response>}
 *   {"ok": false, "error": {"name", "message", "code", "body", ...}}
 * It exits 0 whenever the library answered (even with an error); a non-zero exit means the harness
 * itself is broken (bad command, library missing, callback never called).
 */

const RESULT_TIMEOUT_MS = 20000;

function readCommand() {
  const text = process.argv[2] !== undefined ? process.argv[2] : require('fs').readFileSync(0, 'utf8');
  const command = JSON.parse(text);

  for (const field of ['host', 'key', 'op']) {
    if (typeof command[field] !== 'string') {
      throw new Error(`command.${field} must be a string`);
    }
  }

  command.args = command.args || {};
  command.options = command.options || {};

  return command;
}

/**
 * JSON-safe copy of anything a library may hand back: errors, validator.js violations (which hold
 * their Assert instance), cyclic structures.
 */
function plain(value, seen = new WeakSet()) {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  }

  if (seen.has(value)) {
    return '[Circular]';
  }

  seen.add(value);

  if (value.__class__ === 'Violation' || (value.assert && value.assert.__class__ && 'value' in value)) {
    // A validator.js Violation: which assert failed, on what value, and why.
    const assert = value.assert;

    return {
      assert: assert.__class__,
      expected: plain(assert.reference !== undefined ? assert.reference : assert.choices, seen),
      value: plain(value.value, seen),
      violation: value.violation === undefined ? null : plain(value.violation, seen)
    };
  }

  if (Array.isArray(value)) {
    return value.map(item => plain(item, seen));
  }

  const copy = {};

  for (const key of Object.keys(value)) {
    copy[key] = plain(value[key], seen);
  }

  return copy;
}

function describeError(err) {
  if (err instanceof Error) {
    const described = plain(err);

    described.name = err.name;
    described.message = err.message;

    if (err.code !== undefined) {
      described.code = err.code;
    }

    return described;
  }

  // node-authy hands the parsed response body itself to the callback as `err`.
  const body = plain(err);

  return {
    body,
    message: body && typeof body === 'object' ? body.message : String(body),
    name: 'ApiError'
  };
}

/**
 * Run `ops[command.op](command, done)`; `done(err, result)` must be called exactly once.
 */
function run(ops) {
  let command;

  try {
    command = readCommand();

    if (!Object.prototype.hasOwnProperty.call(ops, command.op)) {
      throw new Error(`unknown op ${command.op}; known: ${Object.keys(ops).join(', ')}`);
    }
  } catch (e) {
    process.stderr.write(`harness: bad command: ${e.message}\n`);
    process.exit(2);
  }

  let finished = false;
  const timer = setTimeout(() => {
    process.stderr.write(`harness: ${command.op} did not complete within ${RESULT_TIMEOUT_MS} ms\n`);
    process.exit(3);
  }, RESULT_TIMEOUT_MS);

  const done = (err, result) => {
    if (finished) {
      process.stderr.write(`harness: ${command.op} answered twice\n`);
      process.exitCode = 4;

      return;
    }

    finished = true;
    clearTimeout(timer);

    const line = err ?
      { error: describeError(err), ok: false } :
      { ok: true, result: plain(result === undefined ? null : result) };

    process.stdout.write(`${JSON.stringify(line)}\n`);
  };

  try {
    ops[command.op](command, done);
  } catch (e) {
    // Client-side validation errors thrown synchronously are answers too.
    done(e);
  }
}

module.exports = { run };
