"""Vectors and matrices: declared shapes, the backward pass in matrix form, checked entry by entry."""
