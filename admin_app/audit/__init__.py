"""The change history: the audit log model, the listeners that write it, its admin view."""
