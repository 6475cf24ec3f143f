"""Delivery channels (sms, voice, email, push, HTTP callbacks): small protocols, several providers."""
