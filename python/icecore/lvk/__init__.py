"""LVK gravitational-wave follow-up."""
