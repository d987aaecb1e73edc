"""Keras configs written to make the config walk do worse than linear work."""

from __future__ import annotations

import time

from payloads import evidence

from aisbom.limits import Limits
from aisbom.policy import Policy
from aisbom.scanners.frame.dispatch import context_for_file
from aisbom.scanners.keras.config import check_keras_config


def _deep(levels: int, inner: object) -> dict:
    config: object = inner
    for level in range(levels):
        config = {"class_name": "Sequential", "config": {"name": f"s{level}", "layers": [config]}}
    return config  # type: ignore[return-value]


def test_one_object_named_in_many_places_under_a_deep_config_is_reported_in_linear_time():
    # Before: every place was the whole path joined (150 objects deep) and searched for among
    # the places already kept: 30,000 places took minutes.
    layers = {f"k{i}": {"class_name": "MyLayer", "config": {}} for i in range(30_000)}
    ctx = context_for_file("config.json", Limits(), Policy())
    started = time.process_time()
    check_keras_config(_deep(150, layers), ctx)
    assert time.process_time() - started < 10
    (hit,) = [f for f in ctx.sink if f.rule == "keras-custom-object"]
    assert evidence(hit)["occurrences"] == "30000"
    assert evidence(hit)["places"].endswith("and 29995 more")
    shown = evidence(hit)["places"].split(", ")[0]
    assert (
        shown == "Sequential 's149' > Sequential 's148' > ... 143 more ... > Sequential 's4' > "
        "Sequential 's3' > Sequential 's2' > Sequential 's1' > Sequential 's0' (k0)"
    )
