"""The local control channel between ``encordfs`` CLI commands and the mount process serving a path.

``server`` runs inside the mount process (a Unix socket in the runtime dir, owner only);
``client`` is what commands use; ``registry`` is where operations are registered; ``ops/`` holds
them. See docs/architecture-control.md.
"""
