"""The reference authenticator: a client of the device protocol (docs/device-protocol.md).

It talks to a TwoStep server over HTTP only, exactly as a phone app would: it never imports the
server's code (``twostep.services``, ``twostep.store``, ``twostep.api``); ``twostep.core.otp`` is
used for the TOTP arithmetic, which is pure. ``twostep authenticator …`` (``twostep.cli``) is its
command line."""
