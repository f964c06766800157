"""The alert rules: `promtool check rules`, `promtool test rules` (deploy/prometheus/tests/), the
Compose Prometheus config (`promtool check config`), Alertmanager's (`amtool check-config`),
runbooks for every alert, the dashboard's queries valid PromQL, and the metric names the rules
and the dashboard expect listed in deploy/README.md."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from services.runtime.metrics import RuntimeMetrics

from .conftest import DEPLOY, tool

PROM = DEPLOY / "prometheus"
RULES = PROM / "rules" / "onewindow.rules.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "onewindow.json"
REQUIRED_ALERTS = {
    "OneWindowServiceDown", "OneWindowServiceNotReady", "OneWindowConsumerLagGrowing", "OneWindowOutboxBacklogAgeing",
    "OneWindowDeadLetters", "OneWindowSmsFailureRateHigh", "OneWindowSealingRefused", "OneWindowOverdueCasesRising",
    "OneWindowDutyGap", "OneWindowDutyGapWithNobodyToAlert", "OneWindowRectificationsOverdue",
    "OneWindowSupervisionRepliesOverdue",
}


def _run(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def _alerts() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_checks_the_rules() -> None:
    out = _run(tool("promtool"), "check", "rules", str(RULES))
    assert f"SUCCESS: {len(_alerts())} rules found" in out


def test_promtool_unit_tests_pass() -> None:
    out = _run(tool("promtool"), "test", "rules", "onewindow.test.yml", cwd=PROM / "tests")
    assert "SUCCESS" in out


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    tests = yaml.safe_load((PROM / "tests" / "onewindow.test.yml").read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for t in tests:
        for case in t.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert firing == names and silent == names


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    # The unit tests would notice a wrong threshold: 5 minutes of ageing becomes 50.
    broken = RULES.read_text().replace("onewindow_outbox_oldest_age_seconds{job=\"onewindow\"}) > 300",
                                       "onewindow_outbox_oldest_age_seconds{job=\"onewindow\"}) > 3000")
    assert broken != RULES.read_text()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "onewindow.rules.yml").write_text(broken)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "onewindow.test.yml").write_text((PROM / "tests" / "onewindow.test.yml").read_text())
    out = subprocess.run([tool("promtool"), "test", "rules", "onewindow.test.yml"], cwd=tmp_path / "tests",
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "OneWindowOutboxBacklogAgeing" in out.stdout + out.stderr


def test_alerts_carry_severity_summary_description_and_a_runbook() -> None:
    alerts = _alerts()
    assert {a["alert"] for a in alerts} == REQUIRED_ALERTS
    runbooks = (PROM / "runbooks.md").read_text()
    sections = {m.group(1).lower(): m for m in re.finditer(r"^## (\S+)$", runbooks, re.M)}
    for a in alerts:
        assert a["labels"]["severity"] in ("critical", "warning")
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        anchor = a["annotations"]["runbook_url"].split("#", 1)[1]
        assert a["annotations"]["runbook_url"] == f"deploy/prometheus/runbooks.md#{anchor}"
        assert anchor in sections, a["alert"]
        body = runbooks[sections[anchor].end():].split("\n## ", 1)[0]
        assert len(body.strip()) > 200, f"the runbook of {a['alert']} says too little"


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]  # where compose.yaml mounts them
    config["rule_files"] = [str(PROM / "rules" / "*.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    out = _run(tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml"))
    assert "SUCCESS" in out
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "onewindow"]
    services = {g["labels"]["service"] for g in job["static_configs"]}
    from tools.registry import SERVICES

    assert services == set(SERVICES)


def test_alertmanager_config_is_valid() -> None:
    out = _run(tool("amtool"), "check-config", str(PROM / "alertmanager.yml"))
    assert "SUCCESS" in out


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses recording rules offline: one rule per panel query.
    subst = {"$__rate_interval": "1m", "$__range": "1d", "$service": ".*", "$__interval": "15s"}
    rules = []
    for i, expr in enumerate(_dashboard_exprs()):
        for k, v in subst.items():
            expr = expr.replace(k, v)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    out = _run(tool("promtool"), "check", "rules", str(tmp_path / "dashboard.rules.yml"))
    assert f"SUCCESS: {len(rules)} rules found" in out


def test_dashboard_has_the_center_and_the_engineers_views() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "onewindow" and dashboard["time"] == {"from": "now/d", "to": "now"}
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert len(rows) == 2 and rows[0].startswith("中心视图") and rows[1] == "Engineers"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    text = " ".join(_dashboard_exprs())
    for metric in ("onewindow_intake_applications_received_total", "onewindow_deadline_clocks_ended_total",
                   "onewindow_deadline_overdue_open_clocks", "onewindow_notify_sms_events_total",
                   "onewindow_http_request_duration_seconds_bucket", "onewindow_consumer_lag_records",
                   "onewindow_outbox_backlog_events", "onewindow_dead_letters_total", "onewindow_messages_failed_total"):
        assert metric in text, metric
    provisioning = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "onewindow.yaml").read_text())
    assert provisioning["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def _runtime_metric_names() -> set[str]:
    names = set()
    for metric in RuntimeMetrics("x").registry.collect():
        for sample in metric.samples:
            names.add(sample.name)
        names |= {f"{metric.name}_total", f"{metric.name}_bucket", metric.name}
    return names


def test_business_metrics_the_rules_expect_are_listed_in_the_readme() -> None:
    """Every onewindow_* name in the rules and the dashboard is either the runtime's own or one
    of the business metrics listed in deploy/README.md for the services to declare."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("## Metrics the rules expect", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(onewindow_[a-z_]+)`", section))
    used = set(re.findall(r"\bonewindow_[a-z_]+", RULES.read_text() + " ".join(_dashboard_exprs())))
    business = used - _runtime_metric_names()
    assert business, "the rules use business metrics"
    assert business <= listed, business - listed


def test_business_metrics_are_declared_by_the_services(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The names the rules and the dashboard use are those the services' registries expose."""
    import importlib

    from tools.registry import BUS_SERVICES as SERVICES

    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONEWINDOW_AUTH_SECRET", "k" * 48)
    declared: set[str] = set()
    for name in SERVICES:
        service = importlib.import_module(f"services.{name}.app").create_service()
        for metric in service.metrics.registry.collect():
            declared |= {metric.name, f"{metric.name}_total", f"{metric.name}_bucket"}
    used = set(re.findall(r"\bonewindow_[a-z_]+", RULES.read_text() + " ".join(_dashboard_exprs())))
    business = used - _runtime_metric_names()
    assert business <= declared, business - declared
