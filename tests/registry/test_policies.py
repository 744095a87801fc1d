"""Promotion by policy on real scikit-learn models: checks with numbers, approvals, races."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from steward import audit, registry, stats, tracking
from steward.contracts import infer_contract
from steward.errors import Conflict, Forbidden, InvalidInput, PolicyViolation
from steward.registry import policies
from steward.store import Store
from steward.tracking import Metric

APPROVERS = ("alice", "bob")
POLICY = """
checks:
  - metric_vs_champion: {metric: roc_auc, min_delta: -0.005}
  - metric_floor: {metric: roc_auc, min: 0.7}
  - contract_matches_champion: {}
  - max_feature_drift: {test: psi, threshold: 0.2}
  - fairness_gap: {metric: accuracy, segment_metric_prefix: "accuracy_", max_gap: 0.2}
approvals: {count: 2, role: approver}
"""


def _frame(seed: int, rows: int = 600, shift: float = 0.0) -> tuple[pd.DataFrame, pd.Series[int]]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(45.0 + shift, 12.0, rows),
            "income": rng.normal(50.0, 15.0, rows),
            "region": rng.choice(["north", "south"], rows),
        }
    )
    score = frame["income"] / 15 - frame["age"] / 20 + rng.normal(0, 0.5, rows)
    return frame, (score > score.median()).astype(int)


def _register(store: Store, *, seed: int, shift: float = 0.0, noise: float = 0.0) -> int:
    """Train, evaluate on a holdout, log metrics on a run, register with contract and profile."""
    frame, labels = _frame(seed, shift=shift)
    train, test = frame.iloc[:400], frame.iloc[400:]
    features = ["age", "income"]
    model = LogisticRegression().fit(train[features], labels.iloc[:400])
    scores = model.predict_proba(test[features])[:, 1]
    rng = np.random.default_rng(seed + 1)
    scores = np.clip(scores + rng.normal(0, noise, scores.shape[0]), 0, 1)
    predicted = (scores > 0.5).astype(int)
    truth = labels.iloc[400:].to_numpy()
    metrics = {
        "roc_auc": roc_auc_score(truth, scores),
        "accuracy": accuracy_score(truth, predicted),
    }
    for region in ("north", "south"):
        mask = (test["region"] == region).to_numpy()
        metrics[f"accuracy_{region}"] = accuracy_score(truth[mask], predicted[mask])
    experiment = tracking.get_or_create_experiment(store, "churn")
    run = tracking.start_run(store, experiment.id)
    tracking.log_metrics(store, run.id, [Metric(k, float(v)) for k, v in metrics.items()])
    tracking.finish_run(store, run.id)
    version = registry.register_model(
        store,
        "churn",
        model,
        sample_input=train[features].head(5),
        run_id=run.id,
        contract=infer_contract(train[features], name="churn").to_dict(),
        profile=stats.profile(train[features]).to_dict(),
        actor="trainer",
    )
    return version.version


def _promote(store: Store, version: int, **kwargs: Any) -> registry.PromotionDecision:
    return registry.promote(
        store, "churn", version, to="production", actor="carol", approvers=APPROVERS, **kwargs
    )


def _approve(store: Store, version: int, *who: str) -> None:
    for person in who:
        registry.approve(store, "churn", version, "production", person, approvers=APPROVERS)


@pytest.fixture
def champion(store: Store) -> int:
    """Version 1, promoted to production under the policy, with two approvals."""
    version = _register(store, seed=1)
    registry.set_policy(store, "churn", "production", POLICY, "lead")
    _approve(store, version, "alice", "bob")
    assert _promote(store, version).promoted
    return version


def test_a_passing_promotion_moves_the_alias_records_a_deployment_and_audits(
    store: Store, champion: int
) -> None:
    challenger = _register(store, seed=2)
    _approve(store, challenger, "alice", "bob")
    decision = _promote(store, challenger)
    assert (decision.passed, decision.promoted, decision.champion_version) == (True, True, 1)
    assert [c.check.split("[")[0] for c in decision.checks] == [
        "metric_vs_champion",
        "metric_floor",
        "contract_matches_champion",
        "max_feature_drift",
        "fairness_gap",
    ]
    versus = decision.checks[0]
    run = tracking.get_run(store, registry.get_version(store, "churn", challenger).run_id or "")
    assert versus.challenger == run.metrics["roc_auc"]
    assert versus.threshold == pytest.approx((versus.champion or 0) - 0.005)
    assert registry.get_alias(store, "churn", "champion").version == challenger
    assert registry.current_deployments(store, "churn")["production"].version == challenger
    events = audit.list_events(store, target_id=f"churn/{challenger}")
    promote_event = [e for e in events if e.action == "model.promote"][-1]
    assert promote_event.after is not None
    assert promote_event.after["checks"][0]["challenger"] == versus.challenger
    assert promote_event.before == {"version": champion}
    assert audit.verify(store).is_intact


def test_a_dry_run_changes_nothing(store: Store, champion: int) -> None:
    challenger = _register(store, seed=2)
    before = len(audit.list_events(store, limit=10000))
    decision = _promote(store, challenger, dry_run=True)
    assert not decision.passed
    assert not decision.promoted
    assert decision.failures == ("approvals: needs 2 by role approver, has 0 (2 more needed)",)
    assert registry.get_alias(store, "churn", "champion").version == champion
    assert len(audit.list_events(store, limit=10000)) == before


def test_a_worse_challenger_is_refused_with_numbers_and_the_refusal_is_audited(
    store: Store, champion: int
) -> None:
    worse = _register(store, seed=2, noise=2.0)
    _approve(store, worse, "alice", "bob")
    with pytest.raises(PolicyViolation) as refused:
        _promote(store, worse)
    message = refused.value.message
    assert "metric_vs_champion[roc_auc]: challenger" in message
    assert "metric_floor[roc_auc]: challenger" in message
    assert "< minimum 0.7" in message
    failed = {d["check"]: d for d in refused.value.details}
    assert failed["metric_floor[roc_auc]"]["challenger"] < 0.7
    assert failed["metric_floor[roc_auc]"]["threshold"] == 0.7
    assert registry.get_alias(store, "churn", "champion").version == champion
    actions = [e.action for e in audit.list_events(store, target_id=f"churn/{worse}")]
    assert actions[-1] == "model.promote_refused"


def test_an_explicit_evaluation_replaces_the_run_metrics(store: Store, champion: int) -> None:
    challenger = _register(store, seed=2)
    _approve(store, challenger, "alice", "bob")
    evaluation = {"challenger": {"roc_auc": 0.80}, "champion": {"roc_auc": 0.81}}
    with pytest.raises(PolicyViolation, match=r"challenger 0\.8 < champion 0\.81 -0\.005 = 0\.805"):
        _promote(store, challenger, evaluation=evaluation)
    with pytest.raises(InvalidInput, match="evaluation"):
        _promote(store, challenger, evaluation={"holdout": {"roc_auc": 1.0}})


def test_drift_contract_and_fairness_checks_refuse_with_numbers(
    store: Store, champion: int
) -> None:
    shifted = _register(store, seed=3, shift=25.0)
    decision = _promote(store, shifted, dry_run=True)
    drift = next(c for c in decision.checks if c.check.startswith("max_feature_drift"))
    assert not drift.passed
    assert drift.details["drifted"] == ["age"]
    assert drift.challenger is not None
    assert drift.challenger >= 0.2
    frame, labels = _frame(4)
    other = LogisticRegression().fit(frame[["age"]], labels)
    renamed = registry.register_model(
        store, "churn", other, sample_input=frame[["age"]].head(3), actor="trainer"
    )
    decision = _promote(store, renamed.version, dry_run=True)
    contract = next(c for c in decision.checks if c.check == "contract_matches_champion")
    assert not contract.passed
    assert contract.details["removed"] == ["income"]
    fairness = next(c for c in decision.checks if c.check.startswith("fairness_gap"))
    assert not fairness.passed  # no segment metrics at all
    evaluation = {"challenger": {"accuracy_north": 0.9, "accuracy_south": 0.6}}
    unfair = _promote(store, shifted, dry_run=True, evaluation=evaluation)
    gap = next(c for c in unfair.checks if c.check.startswith("fairness_gap"))
    assert not gap.passed
    assert gap.challenger == pytest.approx(0.3)
    assert gap.threshold == 0.2


def test_approvals_count_only_approvers_once_each(store: Store, champion: int) -> None:
    challenger = _register(store, seed=2)
    with pytest.raises(Forbidden, match="'mallory' does not hold the approver role"):
        registry.approve(store, "churn", challenger, "production", "mallory", approvers=APPROVERS)
    _approve(store, challenger, "alice")
    with pytest.raises(Conflict, match="already approved"):
        _approve(store, challenger, "alice")
    assert _promote(store, challenger, dry_run=True).approvals.approved_by == ("alice",)
    # Bob's approval stops counting once he no longer holds the role.
    _approve(store, challenger, "bob")
    decision = registry.promote(
        store, "churn", challenger, to="production", actor="c", approvers=("alice",), dry_run=True
    )
    assert decision.approvals.approved_by == ("alice",)
    assert not decision.passed
    listed = registry.list_approvals(store, "churn", version=challenger)
    assert [a.approver for a in listed] == ["alice", "bob"]


def test_policies_are_versioned_validated_and_audited(store: Store, champion: int) -> None:
    first = registry.get_policy(store, "churn", "production")
    second = registry.set_policy(store, "churn", "production", {"approvals": {"count": 1}}, "lead")
    assert (first.version, second.version) == (1, 2)
    assert registry.get_policy(store, "churn", "production", 1).document == first.document
    assert second.document["checks"] == []
    events = audit.list_events(store, target_id="churn:production")
    assert [e.action for e in events if e.action == "model.policy_set"] == ["model.policy_set"] * 2
    with pytest.raises(InvalidInput, match=r"checks\[0\]: check 'metric_ceiling' is unknown"):
        registry.set_policy(store, "churn", "production", "checks: [{metric_ceiling: {}}]", "x")
    with pytest.raises(InvalidInput, match=r"checks\[0\]\.metric_floor\.min"):
        registry.set_policy(
            store, "churn", "production", "checks: [{metric_floor: {metric: auc}}]", "x"
        )


def test_a_stale_decision_cannot_move_the_alias(store: Store, champion: int) -> None:
    registry.set_policy(store, "churn", "production", {}, "lead")
    second, third = _register(store, seed=2), _register(store, seed=5)
    stale = _promote(store, second, dry_run=True)
    assert _promote(store, third).promoted
    with pytest.raises(Conflict, match="moved from version 1 to 3"):
        policies._apply(store, stale)
    assert registry.get_alias(store, "churn", "champion").version == third


def test_concurrent_promotions_exactly_one_wins(store: Store, champion: int) -> None:
    registry.set_policy(store, "churn", "production", {}, "lead")
    challenger = _register(store, seed=2)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(_promote(store, challenger))
        except Conflict as error:
            outcomes.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes if isinstance(o, registry.PromotionDecision)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(won), len(lost)) == (1, 1)
    deployed = registry.list_deployments(store, name="churn", environment="production")
    assert [d.version for d in deployed] == [challenger, champion]


def test_staging_moves_its_own_alias_without_a_policy(store: Store) -> None:
    version = _register(store, seed=1)
    decision = registry.promote(store, "churn", version, to="staging", actor="dev")
    assert (decision.alias, decision.policy_version, decision.checks) == ("staging", None, ())
    assert registry.get_alias(store, "churn", "staging").version == version
    with pytest.raises(Conflict, match="already holds alias 'staging'"):
        registry.promote(store, "churn", version, to="staging", actor="dev")
