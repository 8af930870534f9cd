"""REST API of the catalog: one resource per hierarchy table, adapters, and the system tree."""
