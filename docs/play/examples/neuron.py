# One tanh neuron, o = tanh(x1*w1 + x2*w2 + b). Step through its backward pass below:
# previous / next / play, or tick "predict" and type each gradient before it is shown.
from engine import Value, step_through

x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
o = n.tanh()
n.label, o.label = "n", "o"
print("o =", o.data)

step_through(o, predict=False)  # the stepping page; predict=True starts in predict mode
