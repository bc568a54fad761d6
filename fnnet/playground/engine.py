"""The Playground's engine: data, features, model and training of one run, all through fnnet's public API.

A ``Run`` holds one configuration's data (``fnnet.datasets.playground.make``),
its K variants' ``TrainState``s stacked on a leading axis, and the loss
history. ``Run.train(n)`` runs ``n`` epochs of every variant and evaluates
every neuron over the plane in **one** compiled program (``chunk_program``):
a ``lax.fori_loop`` over epochs, each ``fit``'s own traceable epoch
(``fn.training.epoch.train_epoch``, a ``lax.scan`` of the train step over the
minibatches), ``jax.vmap``-ed over the variants. It is keyed by the
configuration's architecture (``Config.architecture()``), so it compiles
once per architecture and serves any number of epochs up to ``MAX_EPOCHS``,
any learning or regularization rate and any seed.

The training is exactly ``Trainer.fit``'s: the loss ``"mse"`` plus the
penalty ``rate * fn.regularizers.l1/l2(1.0)`` over the kernels, the epoch's
order ``fn.training.epoch.batch_order`` drawn on the host from the state's
key and step, a last partial batch padded with weight-0 samples
(``fn.training.epoch.padding_weights``), so the exported script (``export``)
that calls ``fit`` reproduces the same losses. Per epoch the history keeps
``fit``'s running ``loss``, the training and test losses after the epoch
(mean squared error without the penalty, as the Playground shows them) and
the penalty; ``fit``'s ``val_loss`` is ``test + penalty``.

The heat maps: a ``GRID`` x ``GRID`` grid over the Playground's domain
``[-6, 6]^2`` (row 0 at ``x2 = 6``); outputs are clipped to ``[-1, 1]`` (the
Playground's colour scale) and quantized to bytes, ``round((v + 1) * 127.5)``.
Hidden neurons are sent at half resolution, the outputs at full.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import fnnet as fn
from fnnet.playground.config import FEATURES, Config

GRID = 100  # the Playground's DENSITY
THUMB_STRIDE = 2  # neuron thumbnails at GRID / 2
DOMAIN = 6.0
MAX_EPOCHS = 100  # per compiled chunk
HISTORY_COLUMNS = ("loss", "train", "test", "penalty")
_FUNCTIONS = {
    "x": lambda x1, x2: x1,
    "y": lambda x1, x2: x2,
    "xSquared": lambda x1, x2: x1**2,
    "ySquared": lambda x1, x2: x2**2,
    "xTimesY": lambda x1, x2: x1 * x2,
    "sinX": lambda x1, x2: np.sin(x1),
    "sinY": lambda x1, x2: np.sin(x2),
}
assert set(_FUNCTIONS) == {name for name, _, _ in FEATURES}  # the formulas of config.FEATURES, as functions


def features(points, names) -> np.ndarray:
    """The input features ``names`` (Playground names: ``x``, ``xSquared``, ...) of 2-D points, float32."""
    x1, x2 = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    columns = [_FUNCTIONS[name](x1, x2) for name in names]
    return np.stack(columns, axis=1).astype(np.float32)


def grid_points(size=GRID) -> np.ndarray:
    """``(size * size, 2)`` points of the heat map, row by row from the top (``x2 = 6``) down."""
    axis = np.linspace(-DOMAIN, DOMAIN, size)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)


def quantize(values) -> np.ndarray:
    """Values clipped to ``[-1, 1]`` as bytes: ``round((v + 1) * 127.5)``; NaN (a diverged run) as 0's byte."""
    values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.round((np.clip(values, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def data_keys(seed):
    """``(data_key, init_key, fit_key)`` of a run seed: the data, the initial weights and fit's shuffles."""
    base = jax.random.key(seed)
    init_key, fit_key = jax.random.split(jax.random.fold_in(base, 1))
    return jax.random.fold_in(base, 0), init_key, fit_key


def make_data(config: Config) -> dict:
    """The run's points and targets, split as the Playground splits them, and their features.

    Classification labels become -1/1 (the Playground's, fitting the tanh output).
    """
    data_key, _, _ = data_keys(config.seed)
    points, targets = fn.datasets.playground.make(
        config.data_name, config.num_samples, noise=config.noise / 100, key=data_key
    )
    if config.classification:
        targets = 2 * targets - 1
    n = config.num_train
    return {
        "points": points,
        "targets": targets,
        "num_train": n,
        "x_train": features(points[:n], config.features),
        "y_train": targets[:n, None],
        "x_test": features(points[n:], config.features),
        "y_test": targets[n:, None],
    }


def build_layers(config: Config) -> list:
    """The Dense layers: the hidden ones (``hidden_1``, ...) and the ``output`` (tanh, or linear for regression)."""
    hidden = [
        fn.layers.Dense(units, activation=config.activation, name=f"hidden_{i + 1}")
        for i, units in enumerate(config.networkShape)
    ]
    output = fn.layers.Dense(1, activation="tanh" if config.classification else "linear", name="output")
    return [*hidden, output]


def layer_names(config: Config) -> list:
    return [f"hidden_{i + 1}" for i in range(len(config.networkShape))] + ["output"]


def optimizer_arguments(name) -> tuple:
    """``(fnnet optimizer name, extra hyperparameters)`` of a Playground optimizer choice."""
    if name == "momentum":
        return "sgd", {"momentum": 0.9}
    if name == "nesterov":
        return "sgd", {"momentum": 0.9, "nesterov": True}
    return name, {}


def make_optimizer(name, learning_rate=None):
    base, extra = optimizer_arguments(name)
    if learning_rate is not None:
        extra = {**extra, "learning_rate": learning_rate}
    return fn.optimizers.get(base, **extra)


def unit_penalty(kind):
    """``fn.regularizers.l1(1.0)`` or ``l2(1.0)`` (None for ``"none"``); the run scales it by its rate."""
    return {"none": None, "L1": fn.regularizers.l1(1.0), "L2": fn.regularizers.l2(1.0)}[kind]


@functools.lru_cache(maxsize=16)
def chunk_program(architecture):
    """The jitted ``(states, rates, orders, n_epochs, data, grid) -> (states, history, nodes)`` of an architecture.

    ``states`` and ``rates`` (the regularization rates) have a leading
    variant axis, ``orders`` is ``(K, MAX_EPOCHS, steps, batch)``; the first
    ``n_epochs`` epochs run. ``history`` is ``(K, MAX_EPOCHS, 4)`` in
    ``HISTORY_COLUMNS`` order, ``nodes`` every neuron's output over the grid,
    ``(K, GRID * GRID, neurons)``, in layer order.
    """
    problem, feature_names, shape, activation, regularization, optimizer_name, batch_size, n_train, _ = architecture
    config = Config(
        problem=problem,
        features=feature_names,
        networkShape=shape,
        activation=activation,
        regularization=regularization,
        optimizer=optimizer_name,
        batchSize=batch_size,
    )
    dense = build_layers(config)
    names = layer_names(config)
    model = fn.Sequential(dense)
    optimizer = make_optimizer(optimizer_name)
    penalty = unit_penalty(regularization)
    batch_size = min(batch_size, n_train)

    def forward(params, x):
        """Every layer's outputs (the model's apply, one layer at a time)."""
        outputs = []
        for name, layer in zip(names, dense):
            x = layer.apply(params[name], x)
            outputs.append(x)
        return outputs

    def variant(state, rate, orders, n_epochs, x_train, y_train, x_test, y_test, grid):
        regularizers = () if penalty is None else (lambda params: rate * penalty(params),)
        objective = fn.objective(model, "mse", *regularizers)  # built inside the trace: the rate is a tracer

        def data_loss(params, x, y):
            return fn.losses.mean_squared_error(y, model.apply(params, x))

        def epoch(e, carry):
            state, history = carry
            state, logs = fn.training.epoch.train_epoch(
                objective, optimizer, state, x_train, y_train, orders[e].reshape(-1), batch_size=batch_size
            )
            pen = jnp.zeros((), jnp.float32) if penalty is None else rate * penalty(state.params)
            row = jnp.stack(
                [logs["loss"], data_loss(state.params, x_train, y_train), data_loss(state.params, x_test, y_test), pen]
            )
            return state, history.at[e].set(row)

        history = jnp.full((MAX_EPOCHS, len(HISTORY_COLUMNS)), jnp.nan, jnp.float32)
        state, history = jax.lax.fori_loop(0, n_epochs, epoch, (state, history))
        nodes = jnp.concatenate(forward(state.params, grid), axis=1)
        return state, history, nodes

    batched = jax.vmap(variant, in_axes=(0, 0, 0, None, None, None, None, None, None))
    return jax.jit(batched)


def stack(trees):
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree, k):
    return [jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], tree) for i in range(k)]


class Run:
    """One configuration's training run: data, K stacked variant states, history, and the compiled chunk.

    Not thread-safe: one caller at a time (the session's lock).
    """

    def __init__(self, config: Config):
        self.config = config
        self.data = make_data(config)
        self.variants = config.variants
        self.batch_size = min(config.batchSize, config.num_train)
        self.steps = math.ceil(config.num_train / self.batch_size)
        self.program = chunk_program(config.architecture())
        model = fn.Sequential(build_layers(config))
        states, self.key_data = [], []
        for values in self.variants:
            _, init_key, fit_key = data_keys(values["seed"])
            params = model.init(init_key, (len(config.features),))
            optimizer = make_optimizer(config.optimizer)
            state = fn.training.init_state(params, optimizer, fit_key)
            state = state.with_hyperparameters(learning_rate=values["learningRate"])
            states.append(state)
            self.key_data.append(np.asarray(jax.random.key_data(fit_key)))
        self.states = stack(states)
        self.rates = jnp.asarray([v["regularizationRate"] for v in self.variants], jnp.float32)
        self.epoch = 0
        self._history = np.zeros((len(self.variants), 1024, len(HISTORY_COLUMNS)), np.float32)
        # [(first epoch, learning rate)]: mid-run learning-rate changes, replayed by the exported script
        self.segments = [(0, config.learningRate)]
        self.device_data = tuple(jnp.asarray(self.data[name]) for name in ("x_train", "y_train", "x_test", "y_test"))
        self.grid = jnp.asarray(features(grid_points(), config.features))
        self.nodes = None
        self.initial_history = None

    @property
    def k(self) -> int:
        return len(self.variants)

    def _orders(self, n_epochs):
        orders = np.zeros((self.k, MAX_EPOCHS, self.steps, self.batch_size), np.int32)
        for v, key_data in enumerate(self.key_data):
            for e in range(n_epochs):
                step = (self.epoch + e) * self.steps
                order = fn.training.epoch.batch_order(key_data, step, self.config.num_train, self.batch_size)
                orders[v, e] = order.reshape(self.steps, self.batch_size)
        return orders

    def train(self, n_epochs: int):
        """Train every variant ``n_epochs`` (0 to ``MAX_EPOCHS``) epochs and evaluate the grid; returns the new rows.

        Returns ``(K, n_epochs, 4)`` history rows; with ``n_epochs=0`` the
        losses of the current weights are computed (the first frame).
        """
        if not 0 <= n_epochs <= MAX_EPOCHS:
            raise ValueError(f"n_epochs must be in [0, {MAX_EPOCHS}], got {n_epochs}")
        if self.initial_history is None:
            self.initial_history = self._initial_losses()
        states, history, nodes = self.program(
            self.states, self.rates, jnp.asarray(self._orders(n_epochs)), n_epochs, *self.device_data, self.grid
        )
        self.states = states
        self.nodes = np.asarray(nodes)
        rows = np.asarray(history)[:, :n_epochs]
        end = self.epoch + n_epochs
        if end > self._history.shape[1]:  # grow by doubling: appending stays O(1) per epoch
            grown = np.zeros((self.k, 2 * end, len(HISTORY_COLUMNS)), np.float32)
            grown[:, : self.epoch] = self._history[:, : self.epoch]
            self._history = grown
        self._history[:, self.epoch : end] = rows
        self.epoch = end
        return rows

    @property
    def history(self) -> np.ndarray:
        """``(K, epochs, 4)``: per variant and epoch, ``HISTORY_COLUMNS``."""
        return self._history[:, : self.epoch]

    def _initial_losses(self):
        """``(K, 2)`` training and test losses of the initial weights (the Playground shows them at epoch 0)."""
        model = fn.Sequential(build_layers(self.config))
        x_train, y_train, x_test, y_test = self.device_data
        out = []
        for params in unstack(self.states.params, self.k):
            out.append(
                [
                    float(fn.losses.mean_squared_error(y_train, model.apply(params, x_train))),
                    float(fn.losses.mean_squared_error(y_test, model.apply(params, x_test))),
                ]
            )
        return np.asarray(out, np.float32)

    def set_learning_rate(self, learning_rate: float):
        """Change every variant's learning rate from the next epoch on (the Playground does not reset)."""
        states = unstack(self.states, self.k)
        states = [s.with_hyperparameters(learning_rate=learning_rate) for s in states]
        self.states = stack(states)
        self.config = self.config.replace(learningRate=learning_rate)
        self.variants = self.config.variants
        if self.segments[-1][0] == self.epoch:
            self.segments[-1] = (self.epoch, learning_rate)
        else:
            self.segments.append((self.epoch, learning_rate))

    def latest_losses(self) -> np.ndarray:
        """``(K, 2)``: each variant's current training and test loss."""
        if self.epoch == 0:
            return self.initial_history if self.initial_history is not None else self._initial_losses()
        return self.history[:, -1, 1:3]

    def weights(self, variant=0) -> list:
        """The variant's ``[{"kernel": [[...]], "bias": [...]}]``, layer by layer, as floats."""
        params = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf[variant]), self.states.params)
        return [
            {"kernel": params[name]["kernel"].round(4).tolist(), "bias": params[name]["bias"].round(4).tolist()}
            for name in layer_names(self.config)
        ]

    def params(self, variant=0):
        """The variant's params tree (NumPy)."""
        return jax.tree_util.tree_map(lambda leaf: np.asarray(leaf[variant]), self.states.params)

    def model(self):
        return fn.Sequential(build_layers(self.config))

    def node_images(self, variant=0) -> np.ndarray:
        """``(neurons, GRID / 2, GRID / 2)`` bytes: the variant's hidden neurons' outputs at half resolution."""
        assert self.nodes is not None  # train(0) made them
        nodes = self.nodes[variant].reshape(GRID, GRID, -1)[::THUMB_STRIDE, ::THUMB_STRIDE, :-1]
        return quantize(np.moveaxis(nodes, -1, 0))

    def output_images(self) -> np.ndarray:
        """``(K, GRID, GRID)`` bytes: every variant's output over the plane."""
        assert self.nodes is not None  # train(0) made them
        return quantize(self.nodes[:, :, -1].reshape(self.k, GRID, GRID))


def feature_images() -> np.ndarray:
    """``(7, GRID / 2, GRID / 2)`` bytes: every input feature over the plane, in ``FEATURES`` order (thumbnails)."""
    size = GRID // THUMB_STRIDE
    values = features(grid_points(size), [name for name, _, _ in FEATURES])
    return quantize(np.moveaxis(values.reshape(size, size, -1), -1, 0))
