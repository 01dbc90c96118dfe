"""Ranking treatments in a network: P-scores and SUCRA with rank probabilities.

* P-score of treatment i (Rücker & Schwarzer 2015, doi:10.1186/s12874-015-0060-8): the mean over the other
  treatments j of ``Phi((d_i - d_j) / se_ij)``, the probability that i is better than j, read from the
  estimates and their covariance without simulation.
* SUCRA (Salanti, Ades & Ioannidis 2011, doi:10.1016/j.jclinepi.2010.03.016): ``(T - mean rank) / (T - 1)``
  from rank probabilities estimated by drawing the treatment effects from their multivariate normal
  sampling distribution (seeded). Its expectation equals the P-score; the draws also give each treatment's
  rank probabilities (rankogram), median rank with a 95% rank interval, and the Monte-Carlo standard error of
  SUCRA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv_dist import norm_cdf

__all__ = ["NetworkRanking", "network_rank", "pscores"]

#: Which direction is beneficial: "bad" means small values are bad (larger effects are better).
SMALL_VALUES = ("good", "bad")


@dataclass(frozen=True)
class NetworkRanking:
    """Rankings of the treatments (rank 1 = best).

    Attributes
    ----------
    treatments : list of str
    small_values : {"good", "bad"}
    pscore : numpy.ndarray
    prob_better : numpy.ndarray of shape (T, T)
        ``prob_better[i, j]``: probability that treatment i is better than j (NaN on the diagonal).
    sucra, sucra_mcse : numpy.ndarray
        SUCRA from the draws and its Monte-Carlo standard error.
    rank_probs : numpy.ndarray of shape (T, T)
        ``rank_probs[i, r]``: probability that treatment i has rank r + 1.
    mean_rank, median_rank, rank_lb, rank_ub : numpy.ndarray
        Rank summaries; ``rank_lb``/``rank_ub`` bound the central 95% of the simulated ranks.
    n_sim : int
    seed : int or None
    """

    treatments: list[str]
    small_values: str
    pscore: np.ndarray
    prob_better: np.ndarray
    sucra: np.ndarray
    sucra_mcse: np.ndarray
    rank_probs: np.ndarray
    mean_rank: np.ndarray
    median_rank: np.ndarray
    rank_lb: np.ndarray
    rank_ub: np.ndarray
    n_sim: int
    seed: int | None

    def order(self) -> list[str]:
        """Treatments from the highest P-score to the lowest."""
        return [self.treatments[i] for i in np.argsort(-self.pscore, kind="stable")]

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {
                "treatment": t,
                "pscore": float(self.pscore[i]),
                "sucra": float(self.sucra[i]),
                "sucra_mcse": float(self.sucra_mcse[i]),
                "mean_rank": float(self.mean_rank[i]),
                "median_rank": float(self.median_rank[i]),
                "rank_95": [float(self.rank_lb[i]), float(self.rank_ub[i])],
                "rank_probs": self.rank_probs[i].tolist(),
            }
            for i, t in enumerate(self.treatments)
        ]
        return {"small_values": self.small_values, "n_sim": self.n_sim, "seed": self.seed, "ranking": rows}


def pscores(b: np.ndarray, vb: np.ndarray, *, small_values: str = "bad") -> tuple[np.ndarray, np.ndarray]:
    """P-scores from effects ``b`` (against a common reference) and their covariance ``vb``.

    Returns
    -------
    pscore : numpy.ndarray
    prob_better : numpy.ndarray
        Pairwise probabilities that the row treatment is better than the column treatment.
    """
    if small_values not in SMALL_VALUES:
        raise InputError.invalid("small_values", small_values, "'good' (smaller effects are better) or 'bad'")
    diff = b[:, None] - b[None, :]
    var = np.diag(vb)[:, None] + np.diag(vb)[None, :] - 2 * vb
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / np.sqrt(np.maximum(var, 0.0))
    if small_values == "good":
        z = -z
    prob = np.asarray(norm_cdf(z), dtype=float)
    np.fill_diagonal(prob, np.nan)
    return np.nanmean(prob, axis=1), prob


def network_rank(
    result, *, small_values: str = "bad", n_sim: int = 10_000, seed: int | None = 0
) -> NetworkRanking:
    """Rank the treatments of a fitted network (:func:`network_meta`).

    Parameters
    ----------
    result : NetworkResult
    small_values : {"good", "bad"}, default "bad"
        ``"bad"``: larger effects are better (e.g. more hair); ``"good"``: smaller effects are better (e.g.
        fewer adverse events, lower HbA1c).
    n_sim : int, default 10000
        Draws for the rank probabilities and SUCRA.
    seed : int or None, default 0
        Seed of the draws (the same seed gives the same numbers).

    Returns
    -------
    NetworkRanking
    """
    if not isinstance(n_sim, int | np.integer) or n_sim < 100:
        raise InputError.invalid("n_sim", n_sim, "a whole number >= 100")
    b, vb = result._full()
    ps, prob = pscores(b, vb, small_values=small_values)
    t = b.size
    rng = np.random.default_rng(seed)
    # draws of the non-reference effects; the reference stays at 0
    draws = np.zeros((n_sim, t))
    draws[:, 1:] = rng.multivariate_normal(b[1:], vb[1:, 1:], size=n_sim, method="cholesky")
    score = -draws if small_values == "bad" else draws
    ranks = np.argsort(np.argsort(score, axis=1, kind="stable"), axis=1) + 1  # 1 = best
    rank_probs = np.stack([(ranks == r).mean(axis=0) for r in range(1, t + 1)], axis=1)
    per_draw_sucra = (t - ranks) / (t - 1)
    return NetworkRanking(
        treatments=list(result.treatments),
        small_values=small_values,
        pscore=ps,
        prob_better=prob,
        sucra=per_draw_sucra.mean(axis=0),
        sucra_mcse=per_draw_sucra.std(axis=0, ddof=1) / np.sqrt(n_sim),
        rank_probs=rank_probs,
        mean_rank=ranks.mean(axis=0),
        median_rank=np.median(ranks, axis=0),
        rank_lb=np.quantile(ranks, 0.025, axis=0, method="inverted_cdf").astype(float),
        rank_ub=np.quantile(ranks, 0.975, axis=0, method="inverted_cdf").astype(float),
        n_sim=int(n_sim),
        seed=seed,
    )
