"""Code vendored from the billow engine by tools/vendor_client.py: generated, never edited here."""
