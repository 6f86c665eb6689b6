"""Seeing the graph: names, the backward pass step by step, explanations, pictures, quizzes, the command line."""
