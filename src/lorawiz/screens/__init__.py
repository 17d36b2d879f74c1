"""UI screens, one module per wizard step, plus the monitor and session dialogs."""
