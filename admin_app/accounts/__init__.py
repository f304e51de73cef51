"""Accounts: users (customers and employees share one table), addresses, sign-in and
sessions, the "My account" page, employee management and a customer's erasure."""
