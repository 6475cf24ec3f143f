'use strict';

/**
 * One call with the real node `authy` library (npm 1.4.0, evilpacket/node-authy) against
 * `command.host`.
 *
 *   node node_authy.js '{"host": "http://127.0.0.1:PORT", "key": "...", "op": "verifyToken",
 *                        "args": {"id": 1, "token": "1234567"}}'
 *
 *   registerUser  args {email, cellphone, countryCode, sendInstallLink?}   -> register_user
 *   getUserStatus args {id}                                                -> user_status
 *   requestSms    args {id, force?}                                        -> request_sms
 *   requestCall   args {id, force?}                                        -> request_call
 *   verifyToken   args {id, token, force?}                                 -> verify
 *   deleteUser    args {id}                                                -> delete_user
 *   phoneVerificationStart  args {phone, countryCode, params?}  -> phones().verification_start
 *                           (`params`: an object of extra parameters, or a string: the `via`)
 *   phoneVerificationCheck  args {phone, countryCode, code}     -> phones().verification_check
 *   phoneVerificationStatus args {phone, countryCode}           -> phones().verification_status
 *   phoneInfo               args {phone, countryCode}           -> phones().info
 *
 * Optional arguments are passed only when present: the library changes behaviour with the number
 * of arguments. On any non-200 response the library hands the parsed body to the callback as the
 * error; the harness reports it as {"name": "ApiError", "message": body.message, "body": body}.
 */

const authy = require('authy');
const { run } = require('./harness');

function client(command) {
  return authy(command.key, command.host);
}

function has(args, name) {
  return Object.prototype.hasOwnProperty.call(args, name);
}

run({
  deleteUser: (command, done) => client(command).delete_user(command.args.id, done),

  getUserStatus: (command, done) => client(command).user_status(command.args.id, done),

  phoneInfo: (command, done) => {
    const a = command.args;

    client(command).phones().info(a.phone, a.countryCode, done);
  },

  phoneVerificationCheck: (command, done) => {
    const a = command.args;

    client(command).phones().verification_check(a.phone, a.countryCode, a.code, done);
  },

  phoneVerificationStart: (command, done) => {
    const a = command.args;
    const phones = client(command).phones();

    if (has(a, 'params')) {
      phones.verification_start(a.phone, a.countryCode, a.params, done);
    } else {
      phones.verification_start(a.phone, a.countryCode, done);
    }
  },

  phoneVerificationStatus: (command, done) => {
    const a = command.args;

    client(command).phones().verification_status(a.phone, a.countryCode, done);
  },

  registerUser: (command, done) => {
    const a = command.args;
    const api = client(command);

    if (has(a, 'sendInstallLink')) {
      api.register_user(a.email, a.cellphone, a.countryCode, a.sendInstallLink, done);
    } else {
      api.register_user(a.email, a.cellphone, a.countryCode, done);
    }
  },

  requestCall: (command, done) => {
    const a = command.args;
    const api = client(command);

    if (has(a, 'force')) {
      api.request_call(a.id, a.force, done);
    } else {
      api.request_call(a.id, done);
    }
  },

  requestSms: (command, done) => {
    const a = command.args;
    const api = client(command);

    if (has(a, 'force')) {
      api.request_sms(a.id, a.force, done);
    } else {
      api.request_sms(a.id, done);
    }
  },

  verifyToken: (command, done) => {
    const a = command.args;
    const api = client(command);

    if (has(a, 'force')) {
      api.verify(a.id, a.token, a.force, done);
    } else {
      api.verify(a.id, a.token, done);
    }
  }
});
