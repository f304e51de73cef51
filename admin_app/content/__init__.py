"""Site content: posts, comments and tags: models, admin views and export definitions."""
