"""TwoStep: a self-hosted two-factor authentication server that speaks the Authy REST API."""

__version__ = "0.1.0"
