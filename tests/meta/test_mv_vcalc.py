"""vcalc against metafor 3.8-1's vcalc (every example of its help page) and its bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
from mv_refs import CLOSED_RTOL, close, load, ref

from regrow.errors import InputError
from regrow.meta import vcalc

CHECKED = {
    ("berkey1998", "V"),
    ("assink2016", "V_rho06"),
    ("ishak2007", "V_phi097"),
    ("vcalc", "assink_type_obs"),
    ("vcalc", "kalaian_type"),
    ("vcalc", "knapp_R"),
    ("vcalc", "knapp_R_names"),
    ("vcalc", "knapp_groups"),
    ("vcalc", "knapp_groups_obs"),
}


def test_rvars_blocks_berkey():
    d = load("berkey1998")
    close(
        vcalc(1, d["author"], rvars=["v1i", "v2i"], data=d), ref("berkey1998")["V"], rtol=CLOSED_RTOL, atol=0
    )


def test_correlated_outcomes_assink():
    d = load("assink2016")
    V = vcalc("vi", "study", obs="esid", rho=0.6, data=d)
    close(V, ref("assink2016")["V_rho06"], rtol=CLOSED_RTOL, atol=1e-15)
    both = vcalc(d["vi"], d["study"], type=d["deltype"], obs=d["esid"], rho=(0.7, 0.5))
    close(both, ref("vcalc")["assink_type_obs"], rtol=CLOSED_RTOL, atol=1e-15)


def test_repeated_measurements_ishak():
    d = load("ishak2007")
    V = vcalc(d["vi"], d["study"], time1=d["time"], phi=0.97)
    close(V, ref("ishak2007")["V_phi097"], rtol=CLOSED_RTOL, atol=1e-15)


def test_outcome_types_kalaian():
    d = load("kalaian1996")
    close(vcalc(d["vi"], d["study"], type=d["outcome"], rho=0.66), ref("vcalc")["kalaian_type"], rtol=CLOSED_RTOL,
          atol=1e-15)  # fmt: skip


def test_shared_groups_knapp():
    d = load("knapp2017")
    r = ref("vcalc")
    groups = vcalc(d["vi"], d["study"], grp1=d["group1"], grp2=d["group2"], w1=d["n_sz"], w2=d["n_hc"])
    close(groups, r["knapp_groups"], rtol=CLOSED_RTOL, atol=1e-15)
    full = vcalc("vi", "study", grp1="group1", grp2="group2", w1="n_sz", w2="n_hc", obs="task.diff",
                 rho=np.array(r["knapp_R"]), rho_labels=r["knapp_R_names"], data=d)  # fmt: skip
    close(full, r["knapp_groups_obs"], rtol=CLOSED_RTOL, atol=1e-15)


def test_two_treatments_sharing_a_control_have_the_textbook_correlation():
    """Two mean differences against one control of size n_c: r = 1 / sqrt((1 + n_c/n_1)(1 + n_c/n_2))
    (Gleser & Olkin 2009, the covariance is the control arm's variance)."""
    n1, n2, nc = 30.0, 50.0, 40.0
    V = vcalc([1.0, 1.0], [1, 1], grp1=["t1", "t2"], grp2=["c", "c"], w1=[n1, n2], w2=[nc, nc])
    expected = (1 / nc) / np.sqrt((1 / n1 + 1 / nc) * (1 / n2 + 1 / nc))
    assert V[0, 1] == pytest.approx(expected, rel=1e-14)


def test_other_clusters_stay_independent():
    V = vcalc([0.1, 0.2, 0.3, 0.4], ["a", "a", "b", "c"], obs=[1, 2, 1, 1], rho=0.5)
    assert V[0, 1] == pytest.approx(0.5 * np.sqrt(0.02))
    assert np.count_nonzero(V - np.diag(np.diag(V))) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"obs": [1, 2, 1]}, "rho must be given"),
        ({"time1": [1, 2, 1]}, "phi must be given"),
        ({"obs": [1, 2, 1], "rho": 1.5}, r"\[-1, 1\]"),
        ({"time1": [1, 2, 1], "phi": -2}, r"phi"),
        ({"obs": [1, 2, 1], "rho": np.eye(3)}, "rho_labels"),
        ({"obs": [1, 2, 1], "rho": np.eye(2), "rho_labels": ["1", "3"]}, "value 2 has no row"),
        ({"grp2": [1, 1, 1]}, "not grp2 alone"),
        ({"obs": [1, 2, 1], "type": ["a", "a", "b"], "rho": 0.5}, "within- and between-construct"),
    ],
)
def test_bad_dependence_arguments_are_named(kwargs, match):
    with pytest.raises(InputError, match=match):
        vcalc([0.1, 0.2, 0.3], [1, 1, 2], **kwargs)


def test_perfectly_correlated_estimates_are_allowed():
    """All rows of a cluster against the same two groups are perfectly correlated: singular, not invalid."""
    V = vcalc([0.1, 0.1], [1, 1], grp1=["t", "t"], grp2=["c", "c"])
    assert V[0, 1] == pytest.approx(0.1)


def test_not_positive_definite_cluster_is_named():
    R = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(InputError, match="not positive semi-definite in cluster 'A'"):
        vcalc([0.1, 0.1, 0.1], ["A", "A", "A"], obs=["x", "y", "z"], rho=R)
    V = vcalc([0.1, 0.1, 0.1], ["A", "A", "A"], obs=["x", "y", "z"], rho=R, checkpd=False)
    assert V.shape == (3, 3)


@pytest.mark.parametrize(
    ("vi", "cluster", "match"),
    [
        ([0.1, -0.2], [1, 1], "finite and >= 0"),
        ([0.1, np.nan], [1, 1], "vi is missing in row 2"),
        ([0.1, 0.2], [1, None], "cluster is missing in row 2"),
        ([0.1, 0.2, 0.3], [1, 1], "vi has 3 values but cluster has 2"),
        ([0.1], [1], "at least 2"),
    ],
)
def test_bad_variances_and_clusters(vi, cluster, match):
    with pytest.raises(InputError, match=match):
        vcalc(vi, cluster)


def test_rvars_column_count_must_match_the_largest_cluster():
    d = load("berkey1998")
    with pytest.raises(InputError, match="rvars columns"):
        vcalc(1, d["author"], rvars=["v1i"], data=d)
    with pytest.raises(InputError, match="pass data="):
        vcalc(1, d["author"], rvars=["v1i", "v2i"])
