"""One process of a data-parallel run for tests/test_multiprocess.py; writes its results as JSON.

    python tests/multiprocess_worker.py OUT.json [PROCESS_ID NUM_PROCESSES PORT]

With the last three arguments the process joins a ``jax.distributed`` job
(gloo CPU collectives, coordinator on 127.0.0.1:PORT); without them it runs
alone. Either way the mesh spans all devices of the job (4 in the test).
Each section's results, or its error, go under the section's name.
"""

import json
import os
import sys
import traceback

import jax
import numpy as np
from jax.sharding import Mesh

out_path = sys.argv[1]
if len(sys.argv) > 2:
    process_id, num_processes, port = map(int, sys.argv[2:5])
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes, process_id=process_id
    )

import fnnet as fn  # noqa: E402 - after jax.distributed.initialize, as the recipe says

mesh = Mesh(np.array(jax.devices()), ("data",))
rng = np.random.default_rng(0)
x = rng.normal(size=(76, 5)).astype(np.float32)  # 60 training samples: the last batch of 16 is partial
y = (np.tanh(x @ rng.normal(size=(5, 1))) + 0.1 * rng.normal(size=(76, 1))).astype(np.float32)
model = fn.Sequential([fn.layers.Dense(8, activation="tanh"), fn.layers.Dense(1)])
trainer = fn.compile(model, "mse", "sgd", metrics=["mae"])
params = model.init(jax.random.key(0), (5,))


def arrays():
    state, history = trainer.fit(
        params, x, y, epochs=4, batch_size=16, validation_split=0.2, key=jax.random.key(1), mesh=mesh, verbose=0
    )
    return {
        "history": history.history,
        "kernel": fn.parallel.fetch(state.params)["dense"]["kernel"].tolist(),
        "evaluate": trainer.evaluate(state, x, y, batch_size=8, mesh=mesh, return_dict=True),
        "predict": trainer.predict(state, x, batch_size=8, mesh=mesh).tolist(),
    }


def stream():
    """Every process's iterable yields only its share of each global batch of 16 rows."""
    share = fn.parallel.process_slice(16, mesh)
    batches = [(x[i : i + 16][share], y[i : i + 16][share]) for i in range(0, 60, 16)]  # the last has 12 rows
    state, history = trainer.fit(
        params, batches, epochs=3, validation_data=(x[60:], y[60:]), key=jax.random.key(1), mesh=mesh, verbose=0
    )
    return {"history": history.history, "kernel": fn.parallel.fetch(state.params)["dense"]["kernel"].tolist()}


def sweep():
    """Four variants split over the mesh's devices, the data replicated."""
    result = fn.sweep.fit(
        model,
        x,
        y,
        fn.sweep.seeds(4),
        loss="mse",
        optimizer="sgd",
        epochs=3,
        batch_size=16,
        validation_split=0.2,
        mesh=mesh,
        key=jax.random.key(2),
        verbose=0,
    )
    return {
        "history": {name: np.asarray(values).tolist() for name, values in result.history.items()},
        "best_index": result.best_index,
        "kernel": fn.parallel.fetch(result.params(result.best_index))["dense"]["kernel"].tolist(),
        "predict": result.predict(x[:8]).tolist(),
    }


def saving():
    """Every process saves and loads the same files: process 0 alone writes, and every process reads them back."""
    from fnnet.saving import container

    writes, atomic_write = [], container.atomic_write

    def counted(path, write_to):
        writes.append(os.path.basename(path))
        return atomic_write(path, write_to)

    container.atomic_write = counted
    state, _ = trainer.fit(params, x, y, epochs=2, batch_size=16, key=jax.random.key(1), mesh=mesh, verbose=0)
    folder = os.path.dirname(os.path.abspath(out_path))
    job = f"job_of_{jax.process_count()}"
    model_path = fn.save_model(os.path.join(folder, f"{job}.safetensors"), model, state.params)
    checkpoint_path = fn.save_checkpoint(
        os.path.join(folder, f"{job}_checkpoint.safetensors"), state, model=model, epoch=2
    )
    loaded_model, loaded = fn.load_model(model_path)
    checkpoint = fn.load_checkpoint(checkpoint_path, like=state)
    resumed, _ = trainer.fit(checkpoint.state, x, y, epochs=1, batch_size=16, mesh=mesh, verbose=0)
    again, _ = trainer.fit(state, x, y, epochs=1, batch_size=16, mesh=mesh, verbose=0)
    return {
        "writes": writes,
        "files": sorted(name for name in os.listdir(folder) if name.startswith(job) or name.endswith(".tmp")),
        "same_model": loaded_model == model,
        "kernel": fn.parallel.fetch(loaded)["dense"]["kernel"].tolist(),
        "predict": loaded_model.apply(fn.parallel.fetch(loaded), x[:8]).tolist(),
        "step": int(fn.parallel.fetch(checkpoint.state.step)),
        "resumed_equals_continued": bool(
            np.array_equal(
                fn.parallel.fetch(resumed.params)["dense"]["kernel"], fn.parallel.fetch(again.params)["dense"]["kernel"]
            )
        ),
    }


results = {"devices": jax.device_count(), "processes": jax.process_count()}
for section in (arrays, stream, sweep, saving):
    try:
        results[section.__name__] = section()
    except Exception:  # noqa: BLE001 - reported by the test that reads this section
        results[section.__name__] = {"error": traceback.format_exc()}
with open(out_path, "w") as file:
    json.dump(results, file)
