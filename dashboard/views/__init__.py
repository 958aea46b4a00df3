"""The dashboard's pages, one module per page family (urls.py imports each module)."""
