"""Vectors and matrices: the chain rule for networks in matrix form, checked entry by entry."""
