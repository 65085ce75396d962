"""County medical community levers as plug-ins: a registry by name (see base.py)."""
from .base import REGISTRY, Params, Policy, PolicySpec, build_policies, register

__all__ = ["REGISTRY", "Params", "Policy", "PolicySpec", "build_policies", "register"]
