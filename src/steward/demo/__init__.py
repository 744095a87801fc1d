"""The built-in end-to-end scenario that `steward demo` runs."""
