"""Web plumbing: page or fragment, the visitors' page cache, security headers, forms."""
