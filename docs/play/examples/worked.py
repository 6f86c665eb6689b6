# The README's worked example: build an expression, call backward(), read the gradients.
from playground import show

from engine import Value

a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
e = a * b
d = e + c
f = Value(-2.0, label="f")
L = d * f
e.label, d.label, L.label = "e", "d", "L"
L.backward()
print("gradients:", a.grad, b.grad, c.grad, f.grad)

# The same pass, one chain-rule step at a time:
for v in (a, b, c, f):
    v.grad = 0.0
for step in L.backward_steps():
    print(step)

show(L)  # the graph, drawn beside (a Value on the last line is drawn too)
