"""Exports of a Playground run: the Python script that reproduces it, and its loss history as CSV.

``script(run)`` writes a standalone program that uses only fnnet's public
API: it draws the same data (``fn.datasets.playground.make`` with the run's
key), computes the same input features, builds the same ``fn.Sequential``,
and trains each variant with ``fn.compile(...).fit`` for the same epochs and
learning-rate segments, so its ``history.history["loss"]`` and
``["val_loss"]`` equal the page's run (to float rounding: the page trains
the variants vmapped). ``python playground_run.py`` prints the losses per
epoch; ``--json`` prints them as JSON.

``history_csv(run)``: one row per variant and epoch: ``variant, seed,
learning_rate, regularization_rate, epoch, train_loss, test_loss`` (mean
squared error after the epoch, the page's numbers) and ``loss, val_loss``
(``fit``'s: the epoch's running training loss and the test loss, both with
the regularization penalty).
"""

import io

from fnnet.playground import engine
from fnnet.playground.config import FEATURES

_FORMULAS = {name: formula for name, _, formula in FEATURES}

_TEMPLATE = '''"""A run of the fnnet Playground, reproduced with fnnet's public API.

Configuration: {query}
Link: http://127.0.0.1:8000/#{query}

Run: python {filename} [--json]
"""

import json
import sys

import jax
import numpy as np

import fnnet as fn

DATASET, NUM_SAMPLES, NOISE, NUM_TRAIN = {dataset!r}, {num_samples}, {noise!r}, {num_train}
SEED = {seed}  # the data's seed
BATCH_SIZE = {batch_size}
# each variant: its seed (initial weights and shuffles), regularization rate and
# learning-rate segments [(first epoch, learning rate)]
VARIANTS = {variants}
EPOCHS = {epochs}


def keys(seed):
    """(data key, initialization key, fit key) of a seed, as the Playground derives them."""
    base = jax.random.key(seed)
    init_key, fit_key = jax.random.split(jax.random.fold_in(base, 1))
    return jax.random.fold_in(base, 0), init_key, fit_key


def features(points):
    """The input features: {feature_names}."""
    x1, x2 = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return np.stack([{feature_formulas}], axis=1).astype(np.float32)


points, targets = fn.datasets.playground.make(DATASET, NUM_SAMPLES, noise=NOISE, key=keys(SEED)[0])
{target_line}x_train, y_train = features(points[:NUM_TRAIN]), targets[:NUM_TRAIN, None]
x_test, y_test = features(points[NUM_TRAIN:]), targets[NUM_TRAIN:, None]


def build_model():
    return fn.Sequential([
{layers}
    ])


def train(variant):
    """Train one variant; returns fit's history (loss and val_loss per epoch) and the final state."""
    _, init_key, fit_key = keys(variant["seed"])
    model = build_model()
    params = model.init(init_key, ({num_features},))
    segments = variant["segments"]
    optimizer = fn.optimizers.get({optimizer_name!r}, learning_rate=segments[0][1]{optimizer_extra})
    trainer = fn.compile(model, "mse", optimizer{regularizers})
    state, history = params, {{"loss": [], "val_loss": []}}
    for i, (start, learning_rate) in enumerate(segments):
        end = segments[i + 1][0] if i + 1 < len(segments) else EPOCHS
        if end <= start:
            continue
        if i > 0:  # the page changed the learning rate here, without restarting
            state = state.with_hyperparameters(learning_rate=learning_rate)
        state, segment = trainer.fit(state, x_train, y_train, epochs=end - start, batch_size=BATCH_SIZE,
                                     validation_data=(x_test, y_test), key=fit_key if i == 0 else None,
                                     verbose=0)
        for name in history:
            history[name] += segment.history[name]
    return history, state


if __name__ == "__main__":
    results = [train(variant)[0] for variant in VARIANTS]
    if "--json" in sys.argv:
        print(json.dumps(results))
    else:
        for k, history in enumerate(results):
            print(f"variant {{k}}: {{VARIANTS[k]}}")
            for epoch, (loss, val_loss) in enumerate(zip(history["loss"], history["val_loss"]), 1):
                print(f"epoch {{epoch:5d}}  loss {{loss:.6f}}  val_loss {{val_loss:.6f}}")
'''


def _variants(run) -> str:
    lines = []
    for values in run.variants:
        segments = run.segments if run.config.compare != "learningRate" else [(0, values["learningRate"])]
        lines.append(
            f'    {{"seed": {values["seed"]}, "regularization_rate": {values["regularizationRate"]!r}, '
            f'"segments": {[(start, lr) for start, lr in segments]!r}}},'
        )
    return "[\n" + "\n".join(lines) + "\n]"


def script(run, filename="playground_run.py") -> str:
    """The Python source that reproduces ``run`` (an ``engine.Run``) with ``fn.compile(...).fit``."""
    config = run.config
    name, extra = engine.optimizer_arguments(config.optimizer)
    extra_text = "".join(f", {key}={value!r}" for key, value in extra.items())
    output = "tanh" if config.classification else "linear"
    layers = [
        f'        fn.layers.Dense({units}, activation={config.activation!r}, name="hidden_{i + 1}"),'
        for i, units in enumerate(config.networkShape)
    ]
    layers.append(f'        fn.layers.Dense(1, activation={output!r}, name="output"),')
    regularizers = ""
    if config.regularization != "none":
        function = config.regularization.lower()
        regularizers = f', regularizers=[fn.regularizers.{function}(variant["regularization_rate"])]'
    target_line = (
        "targets = 2 * targets - 1  # labels -1/1, as the Playground's, for the tanh output\n"
        if config.classification
        else ""
    )
    return _TEMPLATE.format(
        query=config.to_query(),
        filename=filename,
        dataset=config.data_name,
        num_samples=config.num_samples,
        noise=config.noise / 100,
        num_train=config.num_train,
        seed=config.seed,
        batch_size=config.batchSize,
        variants=_variants(run),
        epochs=run.epoch,
        feature_names=", ".join(config.features),
        feature_formulas=", ".join(_FORMULAS[f] for f in config.features),
        target_line=target_line,
        layers="\n".join(layers),
        num_features=len(config.features),
        optimizer_name=name,
        optimizer_extra=extra_text,
        regularizers=regularizers,
    )


def history_csv(run) -> str:
    """The run's loss history, one row per variant and epoch (see the module docstring for the columns)."""
    out = io.StringIO()
    out.write("variant,seed,learning_rate,regularization_rate,epoch,train_loss,test_loss,loss,val_loss\n")
    history = run.history
    for k, values in enumerate(run.variants):
        learning_rates = _learning_rates(run, values)
        for epoch in range(run.epoch):
            loss, train, test, penalty = (float(v) for v in history[k, epoch])
            out.write(
                f"{k},{values['seed']},{learning_rates[epoch]!r},{values['regularizationRate']!r},{epoch + 1},"
                f"{train:.7g},{test:.7g},{loss:.7g},{test + penalty:.7g}\n"
            )
    return out.getvalue()


def _learning_rates(run, values):
    if run.config.compare == "learningRate":
        return [values["learningRate"]] * run.epoch
    rates, segments = [], run.segments
    for i, (start, rate) in enumerate(segments):
        end = segments[i + 1][0] if i + 1 < len(segments) else run.epoch
        rates += [rate] * max(0, end - start)
    return rates
