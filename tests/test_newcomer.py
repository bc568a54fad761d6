"""Small things a newcomer meets first: ``summary()`` of a loaded model, ``demo.py --out``, the Playground's
command line (Ctrl+C stops it without a traceback, ``--open`` says when no browser opened)."""

import pathlib

import jax

import fnnet as fn
from fnnet import layers

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_summary_of_a_loaded_sequential_uses_the_input_shape_stored_in_its_file(tmp_path: pathlib.Path) -> None:
    model = fn.Sequential([layers.Dense(32, activation="relu"), layers.BatchNormalization(), layers.Dense(10)])
    params = model.init(jax.random.key(0), (64,))
    fn.save_model(tmp_path / "m.safetensors", model, params)
    loaded, loaded_params = fn.load_model(tmp_path / "m.safetensors")

    table = loaded.summary(print_fn=lambda text: None)
    assert table == model.summary((64,), print_fn=lambda text: None)
    assert "(None, 32)" in table and "(None, 10)" in table
    assert "Total params: 2,538" in table and "Non-trainable params: 64" in table  # 64*32+32 + 4*32 + 32*10+10
    assert loaded.build_input_shape == (64,) and model.build_input_shape is None
    assert loaded == model and hash(loaded) == hash(model)  # the stored shape is no part of equality: programs shared
    assert "Total params: 714" in loaded.summary((7,), print_fn=lambda text: None)  # an explicit shape still wins
