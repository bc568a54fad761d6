"""The main demo: the lessons' digit classifier, built and trained from fnnet's pieces.

A walk-through of the concept modules on the embedded digits data (no
network): scale and one-hot the data, build the model, check its gradient
against finite differences, then train it with ``jax.grad`` and optax in a
few lines of minibatch gradient descent, and report the test accuracy.
"""

import time

import jax
import jax.numpy as jnp
import optax

import fnnet as fn
from fnnet import layers, regularizers

(x_train, y_train), (x_test, y_test) = fn.datasets.digits.load_data()
x_train, x_test, scaler = fn.data.standardize(x_train, x_test)
y_train_1h = fn.data.to_categorical(y_train, 10)
print(f"digits: {x_train.shape[0]} training and {x_test.shape[0]} test images of {x_train.shape[1]} pixels")

model = fn.Sequential([
    layers.Dense(512, activation="relu", kernel_regularizer=regularizers.l2(1e-5)),
    layers.Dense(512, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
params = model.init(jax.random.key(0), x_train.shape[1:])
model.summary(x_train.shape[1:])

# jax.grad is the backpropagation; check it on a small copy of the recipe first.
small = fn.Sequential([layers.Dense(4, "tanh"), layers.Dense(10, "softmax")])
small_params = small.init(jax.random.key(1), x_train.shape[1:])
fn.testing.check_grads(fn.objective(small, "categorical_crossentropy"), small_params, x_train[:8], y_train_1h[:8])
print("jax.grad matches central finite differences in float64 on a 64-4-10 model")

objective = fn.objective(model, "categorical_crossentropy")
optimizer = fn.optimizers.get("adam")


@jax.jit
def train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(objective)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


opt_state = optimizer.init(params)
start = time.perf_counter()
for epoch in range(10):
    key = jax.random.fold_in(jax.random.key(2), epoch)
    for x, y in fn.data.batches(x_train, y_train_1h, batch_size=128, key=key):
        params, opt_state, loss = train_step(params, opt_state, x, y)
    print(f"epoch {epoch + 1:2d}  last batch loss {float(loss):.4f}")
print(f"trained in {time.perf_counter() - start:.1f} s")

probabilities = model.apply(params, x_test)
accuracy = fn.metrics.accuracy(jnp.asarray(y_test), probabilities)
print(f"test accuracy: {float(accuracy):.4f}")
