"""The embedded sandbox: a local Alipay gateway (signer and ledger) and the demo data."""
