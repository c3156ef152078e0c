"""One router module per resource (pages and API): auth, packages, account, admin, api."""
