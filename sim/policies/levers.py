"""Imports every lever module so that each registers itself."""
