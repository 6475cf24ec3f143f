'use strict';

/**
 * One call with the real `authy-client` (npm 1.1.4, seegno/authy-client) against `command.host`.
 *
 *   node authy_client.js '{"host": "http://127.0.0.1:PORT", "key": "...", "op": "requestSms",
 *                          "args": {"authyId": 1}, "options": {"force": true}}'
 *
 * `args` and `options` are the library's own first and second arguments, e.g.
 *   registerUser  args {email, phone, countryCode}
 *   getUserStatus args {authyId}          options {ip}
 *   requestSms    args {authyId}          options {force, action, message}
 *   requestCall   args {authyId}          options {force, action, message}
 *   verifyToken   args {authyId, token}   options {force}
 *   deleteUser    args {authyId}          options {ip}
 *   startPhoneVerification   args {countryCode, phone, via}   options {codeLength, locale}
 *   verifyPhone              args {countryCode, phone, token}
 *   getPhoneInformation      args {countryCode, phone}        options {ip}
 *   getApplicationDetails    args {ip}
 *   getApplicationStatistics args {ip}
 *
 * Every response passes through the library's own checks (HTTP 200, truthy `success`, then strict
 * per-call asserts); a rejected response prints ok:false with the error's name, message, code, the
 * response body (HttpError) or the data and failed asserts (AssertionFailedError).
 */

const { Client } = require('authy-client');
const { run } = require('./harness');

function call(method) {
  return (command, done) => {
    const client = new Client({ key: command.key }, { host: command.host, timeout: 10000 });

    client[method](command.args, command.options).then(result => done(null, result), err => done(err));
  };
}

run({
  deleteUser: call('deleteUser'),
  getApplicationDetails: call('getApplicationDetails'),
  getApplicationStatistics: call('getApplicationStatistics'),
  getPhoneInformation: call('getPhoneInformation'),
  getUserStatus: call('getUserStatus'),
  registerUser: call('registerUser'),
  requestCall: call('requestCall'),
  requestSms: call('requestSms'),
  startPhoneVerification: call('startPhoneVerification'),
  verifyPhone: call('verifyPhone'),
  verifyToken: call('verifyToken')
});
