"""The long-running service (``tocsin run``) and the runtime context every command shares: wiring only."""
