"""The review: effect sizes, pooling, export reproduces the printed numbers, CLI and HTML report."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from regrow.cli import main
from regrow.evidence._trials import bundled_path, load_data
from regrow.meta import rma


@pytest.fixture(autouse=True)
def _user_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("REGROW_EVIDENCE_FILE", str(tmp_path / "user" / "evidence.yaml"))


def _json(capsys, args):
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _csv(capsys):
    assert main(["evidence", "export", "--csv"]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_json_has_every_required_key(capsys):
    out = _json(capsys, ["evidence", "--json"])
    required = {
        "k",
        "n_participants",
        "measure",
        "estimate",
        "ci_lb",
        "ci_ub",
        "pi_lb",
        "pi_ub",
        "I2",
        "tau2",
        "certainty",
        "imputed_studies",
        "sensitivity_without_imputed",
        "verdict",
    }
    assert out["comparisons"]
    for comp in out["comparisons"].values():
        assert required <= set(comp)
    main_comp = out["comparisons"]["mn_mx_vs_mx_density"]
    assert main_comp["k"] == 3 and sorted(main_comp["imputed_studies"]) == ["T1", "T2", "T4"]
    assert main_comp["sensitivity_without_imputed"]["k"] == 0


def test_exported_effect_sizes_reproduce_every_pooled_number(capsys):
    printed = _json(capsys, ["evidence", "--json"])["comparisons"]
    rows = _csv(capsys)
    by_comp: dict[str, list[dict]] = {}
    for row in rows:
        by_comp.setdefault(row["comparison"], []).append(row)
    for cid, comp in printed.items():
        sub = by_comp.get(cid, [])
        assert len(sub) == comp["k"]
        if comp["k"] < 2:
            continue
        yi = np.array([float(r["yi"]) for r in sub])
        vi = np.array([float(r["vi"]) for r in sub])
        fit = rma(yi, vi, method="REML", test="knha")
        pred = fit.predict()
        t = np.exp if comp["measure"] in ("RR", "OR") else (lambda x: x)
        assert t(fit.beta[0]) == pytest.approx(comp["estimate"], rel=1e-10)
        assert t(fit.ci_lb[0]) == pytest.approx(comp["ci_lb"], rel=1e-10)
        assert t(fit.ci_ub[0]) == pytest.approx(comp["ci_ub"], rel=1e-10)
        assert t(np.ravel(pred.pi_lb)[0]) == pytest.approx(comp["pi_lb"], rel=1e-10)
        assert fit.tau2 == pytest.approx(comp["tau2"], rel=1e-10, abs=1e-12)
        assert pytest.approx(comp["I2"], rel=1e-10, abs=1e-12) == fit.I2
        # sensitivity analysis: refit without the rows flagged imputed
        clean = [r for r in sub if r["imputed"] == "False"]
        sens = comp["sensitivity_without_imputed"]
        assert sens["k"] == len(clean)
        if len(clean) >= 2:
            f2 = rma(
                [float(r["yi"]) for r in clean], [float(r["vi"]) for r in clean], method="REML", test="knha"
            )
            assert t(f2.beta[0]) == pytest.approx(sens["estimate"], rel=1e-10)


R_SCRIPT = """
suppressMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1])
for (id in unique(d$comparison)) { s <- d[d$comparison == id, ]; if (nrow(s) < 2) next
  r <- rma(s$yi, s$vi, method = "REML", test = "knha", control = list(threshold = 1e-12, maxiter = 1000))
  p <- predict(r)
  cat(sprintf("%s,%.15g,%.15g,%.15g,%.15g,%.15g\\n", id, r$beta, r$ci.lb, r$ci.ub, p$pi.lb, r$tau2)) }
"""


@pytest.mark.slow
def test_metafor_reproduces_the_printed_numbers(capsys, tmp_path):
    """External check (needs Rscript + metafor: apt-get install r-base-core r-cran-metafor); run with -m slow."""
    assert shutil.which("Rscript"), "Rscript not found: install r-base-core and r-cran-metafor"
    printed = _json(capsys, ["evidence", "--json"])["comparisons"]
    assert main(["evidence", "export", "--csv", str(tmp_path / "es.csv")]) == 0
    script = tmp_path / "refit.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        ["Rscript", str(script), str(tmp_path / "es.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "there is no package called" not in done.stderr, "metafor is not installed for R"
    assert done.returncode == 0, done.stderr
    lines = [ln.split(",") for ln in done.stdout.strip().splitlines()]
    assert len(lines) == sum(1 for c in printed.values() if c["k"] >= 2)
    for cid, beta, lb, ub, pilb, tau2 in lines:
        comp = printed[cid]
        t = math.exp if comp["measure"] in ("RR", "OR") else (lambda x: x)
        # metafor's REML stops at threshold 1e-12 here; agreement to 1e-6 relative is the tolerance we claim.
        assert t(float(beta)) == pytest.approx(comp["estimate"], rel=1e-6)
        assert t(float(lb)) == pytest.approx(comp["ci_lb"], rel=1e-6)
        assert t(float(ub)) == pytest.approx(comp["ci_ub"], rel=1e-6)
        assert t(float(pilb)) == pytest.approx(comp["pi_lb"], rel=1e-6)
        assert float(tau2) == pytest.approx(comp["tau2"], rel=1e-6, abs=1e-9)


def test_study_effects_follow_the_published_methods(capsys):
    rows = {(r["comparison"], r["study_id"]): r for r in _csv(capsys)}
    kumar = rows[("mn_mx_vs_mx_density", "T2")]
    # Kumar 2018 reports hairs per square inch: (12.52 - 1.89) / 6.4516 hairs/cm2.
    assert float(kumar["yi"]) == pytest.approx((12.52 - 1.89) / 6.4516, rel=1e-12)
    # ... and its SDs are imputed as the largest donor SD, 25.4 hairs/cm2, with n = 68 / 2 per arm.
    assert float(kumar["vi"]) == pytest.approx(25.4**2 / 34 * 2, rel=1e-12)
    assert kumar["imputed"] == "True"
    yu = rows[("mn_mx_vs_mx_count_split_scalp", "T8")]
    # Yu 2018 split-scalp: change difference (73.14 - 44.12) - (63.21 - 46.22), SE from p = 0.01 on 18 df.
    assert float(yu["yi"]) == pytest.approx(12.03, rel=1e-12)
    assert math.sqrt(float(yu["vi"])) == pytest.approx(12.03 / 2.878440472713585, rel=1e-9)
    assert yu["imputed"] == "False"
    jha = rows[("mn_prp_vs_prp_responders", "T11")]
    assert float(jha["yi"]) == pytest.approx(math.log(26 / 17), rel=1e-12)
    assert float(jha["vi"]) == pytest.approx(1 / 26 - 1 / 31 + 1 / 17 - 1 / 31, rel=1e-12)


def test_moderators_say_when_k_is_too_small(capsys):
    comp = _json(capsys, ["evidence", "--json"])["comparisons"]["mn_mx_vs_mx_density"]
    needle = next(m for m in comp["moderators"] if m["moderator"] == "interval_days")
    assert "too few studies to tell" in needle["result"]
    assert comp["certainty_domains"]["domains"]["publication_bias"]["explanation"].startswith("not testable")


def test_plain_output_prints_table_and_verdicts(capsys):
    assert main(["evidence"]) == 0
    out = capsys.readouterr().out
    assert "Does micro-needling for hair growth really work?" in out
    assert "mn_mx_vs_mx_density" in out and "very low" in out
    assert "Does it last?" in out


def test_html_report_renders_with_plots(tmp_path, capsys):
    assert main(["evidence", "--html", str(tmp_path / "report")]) == 0
    index = tmp_path / "report" / "index.html"
    text = index.read_text(encoding="utf-8")
    assert text.count('<img src="data:image/png;base64,') >= 5
    forest = tmp_path / "report" / "forest_mn_mx_vs_mx_density.png"
    assert forest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "report" / "funnel_mn_mx_vs_mx_density.png").is_file()
    assert "GRADE domain" in text and "Without imputed studies" in text


def _digest():
    return hashlib.sha256(bundled_path().read_bytes()).hexdigest()


def test_add_writes_only_the_user_copy_and_reruns(tmp_path, capsys):
    before = _digest()
    args = [
        "evidence",
        "add",
        "--id",
        "X1",
        "--author",
        "Test A",
        "--url",
        "https://example.org/x",
        "--comparison",
        "mn_prp_vs_mn_density",
        "--outcome",
        "hair density, change from baseline",
        "--unit",
        "hairs/cm2",
        "--randomised",
        "yes",
        "--n1",
        "25",
        "--n2",
        "25",
        "--mean1",
        "12",
        "--mean2",
        "8",
        "--sd1",
        "6",
        "--sd2",
        "6",
    ]
    assert main(args) == 0
    assert "mn_prp_vs_mn_density: k = 3" in capsys.readouterr().out
    assert _digest() == before
    user = tmp_path / "user" / "evidence.yaml"
    assert load_data(user).study("X1").outcomes[0].intervention.sd.value == 6.0
    assert main(args) == 2  # same id again without --replace
    assert "X1" in capsys.readouterr().err


def test_import_rejects_a_broken_study_with_its_field(tmp_path, capsys):
    bad = tmp_path / "new.yaml"
    bad.write_text(
        "id: X2\nfirst_author: B\ndesign: parallel\nrandomised: 'yes'\nblinding: none\ncondition: AGA\n"
        "urls: ['https://example.org/y']\noutcomes:\n- comparison: mn_prp_vs_mn_density\n  outcome: d\n"
        "  unit: hairs/cm2\n  value_type: change\n  intervention: {n: {value: 0, status: full_text}}\n"
        "  comparator: {n: {value: 10, status: full_text}}\n",
        encoding="utf-8",
    )
    assert main(["evidence", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "study 'X2'" in err and "outcomes[0].intervention.n.value" in err and ">= 1" in err
    assert not (tmp_path / "user" / "evidence.yaml").exists()
    good = tmp_path / "good.yaml"
    good.write_text(bad.read_text(encoding="utf-8").replace("value: 0,", "value: 12,"), encoding="utf-8")
    assert main(["evidence", "import", str(good)]) == 0
    assert load_data(tmp_path / "user" / "evidence.yaml").study("X2").outcomes[0].intervention.n.value == 12
