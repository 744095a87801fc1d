"""The demo's code path, as `steward demo` runs it, on a fresh home."""

from __future__ import annotations

from steward import audit, registry, tracking
from steward.config import Settings
from steward.demo.scenario import run_demo
from steward.store import open_store


def test_demo_trains_registers_and_serves_the_champion(settings: Settings) -> None:
    lines: list[str] = []
    result = run_demo(settings, rows=600, echo=lines.append)

    assert result.holdout_auc > 0.6
    assert any("champion" in line for line in lines)
    assert any("steward server" in line for line in lines)
    store = open_store(settings)
    try:
        champion = registry.resolve(store, "models:/churn@champion")
        assert champion.version == result.model_version
        assert champion.run_id == result.run_id
        assert champion.contract is not None
        run = tracking.get_run(store, result.run_id)
        assert run.status == "FINISHED"
        assert set(run.metrics) == {"holdout_auc", "train_rows"}
        assert audit.verify(store).is_intact
    finally:
        store.close()
