"""What the client and the emulator truly share: the wire models and the request-signing scheme."""
