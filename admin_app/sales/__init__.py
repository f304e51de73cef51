"""Sales: orders, their items and carts: models (the order life cycle), admin views,
services (status moves) and export definitions."""
