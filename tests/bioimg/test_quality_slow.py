"""Quality on the real nuclei sample through the CLI (slow: run with ``pytest -m slow``)."""
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_quality.py"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_nuclei_unet_beats_classical_baseline():
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.nuclei(budget=170)
    ours, classic = res["bioimg"], res["otsu_watershed"]
    assert ours["F1@0.5"] >= 0.88 and ours["F1@0.7"] >= 0.75, res
    assert ours["F1@0.5"] > classic["F1@0.5"] and ours["F1@0.7"] > classic["F1@0.7"], res
