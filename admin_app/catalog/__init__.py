"""Catalogue: categories and products: models, admin views and export definitions."""
