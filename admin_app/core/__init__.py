"""Shared machinery every domain uses: the base admin view, fields, validators, formatters,
soft delete and the trash, versions, the export engine and search, security, the database
settings and logging. No module here imports a domain package; domains fill the registries
(exports, change notes) the core reads."""
