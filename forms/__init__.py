"""Flask-WTF forms, one module per area."""
