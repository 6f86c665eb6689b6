"""Derivatives as return values (grad, jacobian, hessian, derivative) and gradient checks."""
