# A chain 100,000 steps deep (200,000 operations): chainrule's backward pass walks it without
# recursion, and the Python this page runs (Pyodide 0.27.7) frees it without running out of stack.
from engine import Value

x = Value(1.0, label="x")
y = x
for _ in range(100_000):
    y = y * 1.0001 - 0.0001
y.backward()
print("depth 100,000: y =", y.data, " dy/dx =", x.grad)
