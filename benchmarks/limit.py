"""The hand-written limit: the fastest training loop a JAX user writes by hand, shared by the benchmarks.

One epoch is one ``jax.jit`` of a ``jax.lax.scan`` over minibatches whose body
does only ``jax.value_and_grad`` of the loss and the optax update. The epoch's
order is a host permutation (``np.random.default_rng(seed + epoch)``) cut into
``(num_batches, batch_size)`` rows, the last partial batch dropped (a scan needs
equal batches; fnnet keeps and masks it), and copied to the device each epoch.
The model is the workload's MLP (``workloads.py``) with Glorot-uniform kernels
and zero biases; softmax outputs are folded into ``optax.softmax_cross_entropy``
on the logits, the idiomatic equivalent of the cross-entropy on probabilities.

``bench_calls.py`` measures fnnet against this per call, ``bench_fit.py`` lists it
as the ``jax scan`` contender beside the peers.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax


def optimizer(workload, inject=False):
    """The workload's optax optimizer; ``inject=True`` puts the learning rate in the state (for sweeps)."""
    factory = getattr(optax, workload.optimizer)
    return optax.inject_hyperparams(factory)(workload.learning_rate) if inject else factory(workload.learning_rate)


def init_params(workload, key):
    """``[(kernel, bias), ...]``: Glorot-uniform kernels, zero biases."""
    keys = jax.random.split(key, len(workload.sizes) - 1)
    init = jax.nn.initializers.glorot_uniform()
    return [
        (init(k, (m, n), jnp.float32), jnp.zeros(n, jnp.float32))
        for k, m, n in zip(keys, workload.sizes[:-1], workload.sizes[1:])
    ]


def loss_fn(workload):
    """``loss(params, x, y) -> scalar``: the forward pass to the output layer and the workload's mean loss."""
    hidden = getattr(jax.nn, workload.hidden_activation, None) or getattr(jnp, workload.hidden_activation)

    def loss(params, x, y):
        for w, b in params[:-1]:
            x = hidden(x @ w + b)
        w, b = params[-1]
        out = x @ w + b
        if workload.loss == "categorical_crossentropy":
            return jnp.mean(optax.softmax_cross_entropy(out, y))
        return jnp.mean((jnp.tanh(out) - y) ** 2)

    return loss


def handwritten(workload, key=None):
    """``(params, loss)``: the initial params (key 0 by default) and the loss, as written by hand."""
    return init_params(workload, jax.random.key(0) if key is None else key), loss_fn(workload)


def update_fn(loss, opt):
    """The hand-written step ``(params, opt_state, x, y) -> (params, opt_state, loss)``: nothing else."""

    def update(params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return update


def host_order(n, batch_size, seed):
    """The epoch's sample order as ``(n // batch_size, batch_size)`` int32 indices, made by NumPy on the host."""
    batches = n // batch_size
    order = np.random.default_rng(seed).permutation(n)[: batches * batch_size]
    return order.reshape(batches, batch_size).astype(np.int32)


def epoch_fn(loss, opt):
    """``epoch(params, opt_state, x, y, order) -> (params, opt_state, mean loss)``, one scan; jit (or vmap) it."""
    update = update_fn(loss, opt)

    def epoch(params, opt_state, x, y, order):
        def step(carry, index):
            params, opt_state, value = update(*carry, x[index], y[index])
            return (params, opt_state), value

        (params, opt_state), values = jax.lax.scan(step, (params, opt_state), order)
        return params, opt_state, jnp.mean(values)

    return epoch


def train_flops_per_sample(workload):
    """Matmul FLOPs of one training sample: per ``m x n`` kernel 2mn forward, 2mn for its gradient and
    2mn for its input's gradient (not needed, so not counted, for the first layer)."""
    kernels = [m * n for m, n in zip(workload.sizes[:-1], workload.sizes[1:])]
    return 6 * sum(kernels) - 2 * kernels[0]
