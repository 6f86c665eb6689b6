"""chainrule's neural-network library, built on the public API of `engine`."""
