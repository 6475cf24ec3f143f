"""The Authy wire format: request decoding, parameter coercion, JSON/XML rendering and the one table
that maps domain errors to HTTP statuses and Authy error codes."""
