"""Adapters to the outside: Alipay (with the SDK's fixes and keys), the carrier, SMS."""
