"""Use cases. Each owns its transaction: validate, write, seal the audit chain, commit."""
