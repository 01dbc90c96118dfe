"""Bad input to the metafor-breadth functions gives a regrow error that says what is wrong and where."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.errors import ConvergenceError, InputError, TooFewStudiesError
from regrow.meta import (
    Control,
    aggregate,
    anova,
    escalc,
    fsn,
    permutest,
    rma,
    rma_mh,
    robust,
    selmodel,
    to_long,
)

YI = np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.35])
VI = np.array([0.01, 0.02, 0.015, 0.03, 0.02, 0.025])
MOD = np.arange(1.0, 7.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: rma(YI[:2], VI[:2], mods=MOD[:2]), TooFewStudiesError, "2 studies cannot support"),
        (lambda: rma(YI * 5, VI, control=Control(maxiter=1)), ConvergenceError, "did not converge in 1"),
        (lambda: rma(np.r_[YI[:5], np.inf], VI), InputError, "row 6"),
        (lambda: rma(YI, VI[:3]), InputError, "vi has 3 values but yi has 6"),
        (lambda: rma(YI, VI, method="XX"), InputError, "Invalid method 'XX'"),
        (lambda: rma(YI, VI, weights=np.zeros(6)), InputError, "weights are all zero"),
        (lambda: rma(YI, VI, method="GENQ"), InputError, "GENQ' needs weights"),
        (lambda: rma("yy", "vi", data={"yi": YI, "vi": VI}), InputError, "No column 'yy'"),
        (lambda: rma("yi ~ zz", "vi", data={"yi": YI, "vi": VI}), InputError, "Unknown variable 'zz'"),
        (lambda: rma(YI, VI, mods="~ a +* b", data={"a": MOD}), InputError, "formula"),
        (lambda: rma(YI, VI, measure="OR", ai=[1]), InputError, "Give either yi"),
        (lambda: escalc("OR", ai=[-1, 2], bi=[2, 3], ci=[3, 4], di=[4, 5]), InputError, "row index 0"),
        (lambda: robust(rma(YI, VI, mods=MOD), cluster=[1, 1, 1, 2, 2, 2]), TooFewStudiesError, "2 clusters"),
        (lambda: robust(rma(YI, VI), cluster=[1, 2]), InputError, "cluster has 2 values"),
        (lambda: robust(rma(YI, VI), cluster=YI, clubSandwich=True, vcov="CR9"), InputError, "vcov"),
        (lambda: robust(rma(YI, VI, scale={"z": MOD}), cluster=MOD), InputError, "location-scale"),
        (lambda: selmodel(rma(YI, VI, scale={"z": MOD}), type="beta"), InputError, "location-scale"),
        (lambda: selmodel(rma(YI, VI), type="gamma"), InputError, "type"),
        (lambda: selmodel(rma(YI[:3], VI[:3]), type="beta"), TooFewStudiesError, "4 parameters"),
        (lambda: selmodel(rma(YI, VI), type="halfnorm", steps=(0.1, 0.5)), InputError, "single p-value"),
        (lambda: permutest(rma(YI, VI, scale={"z": MOD})), InputError, "location-scale"),
        (lambda: permutest(rma(YI, VI), alternative="up"), InputError, "alternative"),
        (lambda: fsn(YI, VI, pool="tippett"), InputError, "pool"),
        (lambda: anova(rma(YI, VI, mods=MOD), btt=[5]), InputError, "btt"),
        (lambda: anova(rma(YI, VI, mods=MOD), X=[1, 2, 3]), InputError, "X has 3 columns"),
        (lambda: to_long("XX", ai=[1]), InputError, "measure"),
        (lambda: rma_mh([1], [2], [3], [4], measure="SMD"), InputError, "measure"),
        (lambda: aggregate({"yi": YI, "vi": VI, "c": MOD}, cluster="c", struct="AR"), InputError, "struct"),
        (lambda: aggregate({"yi": YI, "vi": VI}, cluster="c"), InputError, "No column 'c'"),
        (lambda: aggregate({"yi": YI, "vi": VI, "c": [1, 1, 2, 2, 3, 3]}, cluster="c"), InputError, "rho"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_redundant_moderators_are_dropped_with_a_warning_as_in_metafor():
    res = rma(YI, VI, mods={"a": MOD, "b": 2 * MOD})
    assert res.coef_names == ["intrcpt", "a"]
    assert any("Redundant predictors dropped" in w and "b" in w for w in res.warnings)
