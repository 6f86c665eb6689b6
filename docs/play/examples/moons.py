# Two moons, as demos/moons.py trains them: an MLP 2-16-16-1 (relu, relu, linear), hinge loss
# + 1e-4 * L2, plain SGD with the learning rate falling from 1.0 to 0.1 over 100 steps.
# engine.compile records the graph once and replays it on floats: the same numbers, faster.
# Watch the boundary form on the right.
from playground import boundary

import engine
import nn

steps = 100
X, y = nn.make_moons(100, noise=0.1, seed=3)  # labels -1 / +1
X_test, y_test = nn.make_moons(200, noise=0.1, seed=1003)
model = nn.MLP(2, [16, 16, 1], seed=3)
parameters = model.parameters()
optimizer = nn.SGD(parameters, lr=nn.linear_decay(1.0, 0.1, steps))


def loss_fn(X, y):
    scores = [model(x) for x in X]
    return nn.hinge_loss(scores, y) + nn.l2_penalty(parameters, 1e-4), scores


step = engine.compile(loss_fn)
for k in range(1, steps + 1):
    optimizer.zero_grad()
    loss, scores = step(X, y)  # forward + backward, as loss_fn then loss.backward()
    optimizer.step()
    if k == 1 or k % 10 == 0:
        print(f"step {k:3d}  loss {loss:.4f}  accuracy {nn.accuracy(scores, y):.0%}")
        boundary(model, X, y, f"after step {k}")  # the page draws the model's decision

test_scores = [model(x).data for x in X_test]
print(f"train accuracy {nn.accuracy(scores, y):.1%}, test accuracy {nn.accuracy(test_scores, y_test):.1%}")
