"""Differentiable ops, one file per family; each op's forward and backward rule sit side by side."""
