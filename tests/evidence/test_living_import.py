"""Living review: a trial added from a CSV file is validated, the whole review reruns, and the pooled result
moves as the model says (metafor refit in the slow test)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess

import numpy as np
import pytest
from cli_helpers import one_error_line

from regrow.cli import main
from regrow.evidence._trials import load_data
from regrow.meta import rma

HEADER = ("id,author,year,url,comparison,outcome,unit,randomised,blinding,treatment1,treatment2,arm1,arm2,"
          "n_randomised1,n_randomised2,n1,n2,mean1,mean2,sd1,sd2,ci_low1,ci_high1,status,location")  # fmt: skip
ROW = ("X9,Test B,2024,https://example.org/x9,mn_mx_vs_mx_density,\"hair density, change from baseline\",hairs/cm2,"
       "yes,evaluator,mn_minoxidil,minoxidil,,,30,30,28,29,22.5,12.1,9.5,8.8,,,full_text,Table 2")  # fmt: skip


@pytest.fixture
def user_copy(tmp_path, monkeypatch):
    path = tmp_path / "user" / "evidence.yaml"
    monkeypatch.setenv("REGROW_EVIDENCE_FILE", str(path))
    return path


def _write(tmp_path, *rows, name="new.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _json(capsys):
    assert main(["evidence", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _effects(capsys, comparison):
    assert main(["evidence", "export", "--csv"]) == 0
    rows = [r for r in csv.DictReader(io.StringIO(capsys.readouterr().out)) if r["comparison"] == comparison]
    return [float(r["yi"]) for r in rows], [float(r["vi"]) for r in rows]


def test_a_csv_trial_changes_the_pooled_result_as_the_model_says(tmp_path, user_copy, capsys):
    yi, vi = _effects(capsys, "mn_mx_vs_mx_density")
    before = _json(capsys)["comparisons"]["mn_mx_vs_mx_density"]
    assert main(["evidence", "import", str(_write(tmp_path, ROW))]) == 0
    out = capsys.readouterr().out
    assert "imported 1 study" in out and "mn_mx_vs_mx_density: k = 4 (was 3)" in out
    assert "network density_md: 6 studies (was 5)" in out
    after = _json(capsys)["comparisons"]["mn_mx_vs_mx_density"]
    # the new trial's mean difference and variance, by hand, added to the three existing effects
    fit = rma([*yi, 22.5 - 12.1], [*vi, 9.5**2 / 28 + 8.8**2 / 29], method="REML", test="knha")
    assert after["k"] == before["k"] + 1 == 4
    assert after["estimate"] == pytest.approx(float(fit.beta[0]), rel=1e-10)
    assert after["ci_lb"] == pytest.approx(float(fit.ci_lb[0]), rel=1e-10)
    assert after["estimate"] != pytest.approx(before["estimate"], rel=1e-3)
    study = load_data(user_copy).study("X9")
    assert study.outcomes[0].intervention.sd.location == "Table 2"
    assert [(a.id, a.treatment) for a in study.arms] == [("A", "mn_minoxidil"), ("B", "minoxidil")]


def test_a_three_arm_trial_in_two_rows_shares_its_arm(tmp_path, user_copy, capsys):
    rows = [
        'Y3,Three A,2024,https://example.org/y3,mn_prp_vs_prp_density,"hair density, change from baseline",'
        "hairs/cm2,yes,evaluator,mn_prp,prp,,,25,25,24,25,20.0,12.0,5.0,4.0,,,full_text,Table 2",
        'Y3,Three A,2024,https://example.org/y3,mn_prp_vs_mn_density,"hair density, change from baseline",'
        "hairs/cm2,yes,evaluator,mn_prp,mn,,,25,25,24,23,20.0,10.0,5.0,4.5,,,full_text,Table 2",
    ]
    assert main(["evidence", "import", str(_write(tmp_path, *rows))]) == 0
    capsys.readouterr()
    study = load_data(user_copy).study("Y3")
    assert [(a.id, a.treatment) for a in study.arms] == [("A", "mn_prp"), ("B", "prp"), ("C", "mn")]
    net = _json(capsys)["networks"]["density_md"]
    y3 = next(s for s in net["studies"] if s["id"] == "Y3")
    assert y3["from_arms"] and y3["treatments"] == ["mn", "prp", "mn_prp"]
    assert [c["yi"] for c in y3["contrasts"]] == pytest.approx([12.0 - 10.0, 20.0 - 10.0], rel=1e-12)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (("9.5,8.8", "abc,8.8"), ["row 2", "column 'sd1'", "'abc'", "a number"]),
        (("9.5,8.8", "0,8.8"), ["new.csv row 2", "study 'X9'", "outcomes[0].intervention.sd.value", "> 0"]),
        (
            ("30,30,28", "20,30,28"),
            ["X9", "outcomes[0].intervention.n.value", "n_randomised of arm 'A' (20)"],
        ),
        ((",,full_text", "23,30,full_text"), ["X9", "outcomes[0].intervention.mean.value", "[23, 30]"]),
        (("mn_minoxidil,minoxidil", "dermaroller,minoxidil"), ["X9", "arms[0].treatment", "'dermaroller'"]),
    ],
)
def test_a_broken_csv_row_is_refused_in_one_line_and_nothing_is_written(
    tmp_path, user_copy, capsys, edit, needles
):
    assert main(["evidence", "import", str(_write(tmp_path, ROW.replace("X9", "X8"), name="ok.csv"))]) == 0
    capsys.readouterr()
    before = _digest(user_copy)
    assert main(["evidence", "import", str(_write(tmp_path, ROW.replace(*edit)))]) == 2
    line = one_error_line(capsys)
    for needle in needles:
        assert needle in line, line
    assert _digest(user_copy) == before


def test_rows_of_one_trial_must_agree_and_columns_must_be_known(tmp_path, user_copy, capsys):
    second = ROW.replace("Test B", "Other C").replace("mn_mx_vs_mx_density,", "mn_mx_vs_mx_diameter,")
    assert main(["evidence", "import", str(_write(tmp_path, ROW, second))]) == 2
    line = one_error_line(capsys)
    assert "row 3, column 'author'" in line and "'Other C' differs from 'Test B' in row 2" in line
    bad = tmp_path / "cols.csv"
    bad.write_text(HEADER.replace("sd1", "stdev1") + "\n" + ROW + "\n", encoding="utf-8")
    assert main(["evidence", "import", str(bad)]) == 2
    assert "unknown column 'stdev1'" in one_error_line(capsys)
    assert not user_copy.exists()


R_MAIN = """
suppressMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1])
s <- d[d$comparison == "mn_mx_vs_mx_density", ]
r <- rma(s$yi, s$vi, method = "REML", test = "knha", control = list(threshold = 1e-12, maxiter = 1000))
cat(sprintf("%d,%.15g,%.15g,%.15g\\n", r$k, r$beta, r$ci.lb, r$ci.ub))
"""


@pytest.mark.slow
def test_adding_one_trial_moves_the_pooled_result_as_metafor_does(tmp_path, user_copy, capsys):
    """Needs Rscript + metafor (r-base-core, r-cran-metafor); run with -m slow."""
    assert shutil.which("Rscript"), "Rscript not found: install r-base-core and r-cran-metafor"
    script = tmp_path / "main.R"
    script.write_text(R_MAIN, encoding="utf-8")

    def metafor_and_regrow(tag):
        es = tmp_path / f"es_{tag}.csv"
        assert main(["evidence", "export", "--csv", str(es)]) == 0
        capsys.readouterr()
        done = subprocess.run(["Rscript", str(script), str(es)], capture_output=True, text=True, timeout=120,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        k, beta, lb, ub = done.stdout.strip().split(",")
        ours = _json(capsys)["comparisons"]["mn_mx_vs_mx_density"]
        return int(k), np.array([float(beta), float(lb), float(ub)]), ours

    k0, r0, ours0 = metafor_and_regrow("before")
    assert main(["evidence", "import", str(_write(tmp_path, ROW))]) == 0
    capsys.readouterr()
    k1, r1, ours1 = metafor_and_regrow("after")
    assert (k0, k1) == (3, 4) and ours1["k"] == 4
    for r, ours in ((r0, ours0), (r1, ours1)):
        assert [ours["estimate"], ours["ci_lb"], ours["ci_ub"]] == pytest.approx(r, rel=1e-6)
    assert abs(r1[0] - r0[0]) > 1.0  # the new trial moves the estimate by more than 1 hair/cm2
