# The lecture's MLP: 3 inputs, two hidden layers of 4, tanh everywhere, four examples.
import random

from playground import show

import nn

random.seed(1337)
mlp = nn.MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh")
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]
print(mlp)
print(len(mlp.parameters()), "parameters")
for k in range(20):
    ypred = [mlp(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred, strict=True))
    mlp.zero_grad()
    loss.backward()
    for p in mlp.parameters():
        p.data += -0.1 * p.grad
    print(f"step {k + 1:2d}  loss {loss.data:.4f}")
print("predictions:", [round(y.data, 2) for y in ypred])

show(mlp(xs[0]))  # the graph of one forward pass, drawn
