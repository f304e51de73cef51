"""The dashboard: the admin index page and the figures it shows."""
