"""Primitive differentiable ops, one module per family."""
