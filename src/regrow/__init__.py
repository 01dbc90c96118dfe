"""regrow: does micro-needling for hair growth really work?

Two honest answers: a living meta-analysis of the micro-needling trials (:mod:`regrow.evidence`) and a
private treatment journal that plans, measures and checks a person's own programme.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
