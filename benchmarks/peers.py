"""Peer-framework contenders for the fit-speed benchmark.

Each ``run_<peer>(workload, x, y, epochs)`` trains the MLP that ``workload`` describes
(``benchmarks/workloads.py``) on NumPy float32 ``(x, y)``, written the way that
framework's own guides recommend for speed, and returns the wall-clock seconds of
each epoch (the first includes compilation). Every epoch reshuffles and walks all
samples in minibatches of ``workload.batch_size``, keeping the last partial batch
as Keras does; each timed epoch ends only once its work has really finished.

All peers use Glorot-uniform kernels and zero biases. Softmax + categorical
cross-entropy is computed by Keras on the probabilities (its ``fit`` default) and by
the other peers in the idiomatic, equivalent from-logits form. The last minibatch
loss of each epoch (Keras: the epoch's mean loss) lands in ``LOSSES[peer]``, for
sanity checks. Frameworks are imported lazily, so a missing one only disables its
contender (see ``available``).
"""

import importlib
import os
import time

import numpy as np

os.environ["KERAS_BACKEND"] = "jax"  # must precede any keras import

LOSSES = {}  # peer name -> per-epoch loss of the last run


def _timed_epochs(name, epochs, run_epoch):
    """Time ``epochs`` calls of ``run_epoch`` (which blocks and returns a float loss)."""
    times, LOSSES[name] = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        LOSSES[name].append(run_epoch())
        times.append(time.perf_counter() - start)
    return times


def _stack(workload, linear, activations):
    """Layers ``[linear, act, ..., linear(, output act)]``; softmax is left to a from-logits loss."""
    sizes = workload.sizes
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [linear(fan_in, fan_out), activations[workload.hidden_activation]]
    layers.pop()
    if workload.output_activation != "softmax":
        layers.append(activations[workload.output_activation])
    return layers


def _jax_parts(workload):
    """Activation table, per-batch loss on the network output and optax optimizer, shared by the JAX peers."""
    import jax
    import jax.numpy as jnp
    import optax

    activations = {"relu": jax.nn.relu, "tanh": jnp.tanh}
    if workload.loss == "categorical_crossentropy":
        loss = lambda out, y: optax.softmax_cross_entropy(out, y).mean()  # noqa: E731
    else:
        loss = lambda out, y: jnp.mean((out - y) ** 2)  # noqa: E731
    return activations, loss, getattr(optax, workload.optimizer)(workload.learning_rate)


def _shuffled_batches(rng, n, batch_size):
    """Index arrays of one shuffled epoch (last partial batch kept)."""
    perm = rng.permutation(n)
    return (perm[i : i + batch_size] for i in range(0, n, batch_size))


def run_keras(workload, x, y, epochs):
    """Keras 3 (JAX backend): ``Sequential`` + ``compile`` + ``fit``, timed by an epoch callback."""
    import jax
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"keras was imported with the {keras.backend.backend()!r} backend before peers.py")
    keras.utils.set_random_seed(0)
    *hidden, out = workload.sizes[1:]
    model = keras.Sequential(
        [keras.Input((workload.sizes[0],))]
        + [keras.layers.Dense(n, activation=workload.hidden_activation) for n in hidden]
        + [keras.layers.Dense(out, activation=workload.output_activation)]
    )
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[workload.optimizer]
    model.compile(optimizer=optimizer(learning_rate=workload.learning_rate), loss=workload.loss)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            jax.block_until_ready([v.value for v in self.model.trainable_variables])
            LOSSES["keras"].append(float(logs["loss"]))
            times.append(time.perf_counter() - self.start)

    times, LOSSES["keras"] = [], []
    model.fit(x, y, batch_size=workload.batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[EpochTimer()])
    return times


def run_flax_nnx(workload, x, y, epochs):
    """Flax NNX: ``nnx.Sequential`` of ``nnx.Linear``, ``nnx.Optimizer``, ``@nnx.jit`` step per batch.

    The step goes through ``nnx.cached_partial``, which the NNX performance guide
    recommends to cut ``nnx.jit``'s per-call graph traversal.
    """
    from flax import nnx

    activations, loss_fn, tx = _jax_parts(workload)
    rngs = nnx.Rngs(0)
    linear = lambda m, n: nnx.Linear(m, n, kernel_init=nnx.initializers.glorot_uniform(), rngs=rngs)  # noqa: E731
    model = nnx.Sequential(*_stack(workload, linear, activations))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, xb, yb):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m(xb), yb))(model)
        optimizer.update(model, grads)
        return loss

    step = nnx.cached_partial(train_step, model, optimizer)
    rng = np.random.default_rng(0)

    def epoch():
        for idx in _shuffled_batches(rng, len(x), workload.batch_size):
            loss = step(x[idx], y[idx])
        return float(loss)  # the loss and the updated state come from the same XLA execution

    return _timed_epochs("flax_nnx", epochs, epoch)


def run_equinox(workload, x, y, epochs):
    """Equinox: ``eqx.nn.Sequential`` of ``eqx.nn.Linear``, optax, ``@eqx.filter_jit`` step per batch."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    activations, loss_fn, tx = _jax_parts(workload)
    keys = iter(jax.random.split(jax.random.key(0), len(workload.sizes) - 1))
    glorot = jax.nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2)  # eqx weights are (out, in)

    def linear(m, n):  # eqx.nn.Linear's own init is not Glorot: replace its parameters
        key = next(keys)
        layer = eqx.nn.Linear(m, n, key=key)
        return eqx.tree_at(lambda lin: (lin.weight, lin.bias), layer, (glorot(key, (n, m)), jnp.zeros(n)))

    lambdas = {name: eqx.nn.Lambda(fn) for name, fn in activations.items()}
    model = eqx.nn.Sequential(_stack(workload, linear, lambdas))
    opt_state = tx.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def train_step(model, opt_state, xb, yb):
        loss, grads = eqx.filter_value_and_grad(lambda m: loss_fn(jax.vmap(m)(xb), yb))(model)
        updates, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    rng = np.random.default_rng(0)

    def epoch():
        nonlocal model, opt_state
        for idx in _shuffled_batches(rng, len(x), workload.batch_size):
            model, opt_state, loss = train_step(model, opt_state, x[idx], y[idx])
        return float(loss)  # the loss and the updated model come from the same XLA execution

    return _timed_epochs("equinox", epochs, epoch)


def run_torch(workload, x, y, epochs):
    """PyTorch (CPU): ``nn.Sequential``, ``torch.optim``, per-batch loop over ``torch.randperm`` indices."""
    import torch
    from torch import nn

    torch.manual_seed(0)

    def linear(m, n):
        layer = nn.Linear(m, n)
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
        return layer

    model = nn.Sequential(*_stack(workload, linear, {"relu": nn.ReLU(), "tanh": nn.Tanh()}))
    # CrossEntropyLoss takes logits and (one-hot) class probabilities.
    loss_fn = nn.CrossEntropyLoss() if workload.loss == "categorical_crossentropy" else nn.MSELoss()
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[workload.optimizer]
    optimizer = optimizer(model.parameters(), lr=workload.learning_rate)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), workload.batch_size):
            idx = perm[i : i + workload.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
        return loss.item()  # CPU torch is synchronous

    return _timed_epochs("torch", epochs, epoch)


PEERS = {"keras": run_keras, "flax_nnx": run_flax_nnx, "equinox": run_equinox, "torch": run_torch}
_MODULES = {"keras": "keras", "flax_nnx": "flax", "equinox": "equinox", "torch": "torch"}


def available():
    """Version string of each peer whose framework imports; missing ones are left out."""
    versions = {}
    for peer, module in _MODULES.items():
        try:
            versions[peer] = importlib.import_module(module).__version__
        except ImportError:
            pass
    return versions
