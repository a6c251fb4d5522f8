"""Posterior draws as plain arrays, and their broadcasting for the families' numpy functions.

Array maths only, so NUTS fits and the exact oracle share the same evaluation code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from bridgebayes.core.errors import BridgeBayesError

if TYPE_CHECKING:
    import arviz as az

__all__ = ["Draws", "evaluation_inputs", "posterior_draws"]

#: Posterior draws: name -> array with draws on axis 0 (see :func:`posterior_draws`), plus
#: constants such as ``cuts`` or ``covariate_center``.
Draws = Mapping[str, np.ndarray]


def posterior_draws(idata: az.InferenceData) -> dict[str, np.ndarray]:
    """Posterior draws with chains and draws flattened to a leading axis, plus constant data.

    Parameters
    ----------
    idata
        Result of ``pm.sample`` on a family's model.

    Returns
    -------
    dict
        Every posterior variable as an array ``(n_draws, *dims)`` and every
        ``constant_data`` array (``cuts``, ``covariate_center``, …) as stored: the input
        the families' ``survival``/``hazard``/``log_cumhaz`` expect.

    Examples
    --------
    >>> family.survival(posterior_draws(idata), [12.0, 24.0], 1)  # doctest: +SKIP
    """
    out = {name: da.stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
           for name, da in idata.posterior.data_vars.items()}
    if "constant_data" in idata.groups():
        out.update({name: da.to_numpy() for name, da in idata.constant_data.data_vars.items()})
    return out


def evaluation_inputs(draws: Draws, t: object, x: object, covariates: object, *,
                      per_draw: Sequence[str], adjusted: bool) -> tuple:
    """Broadcast draws, times, arms and covariates for the families' numpy functions.

    Parameters
    ----------
    draws, t, x, covariates
        As in :meth:`bridgebayes.models.families.SurvivalFamily.log_cumhaz`.
    per_draw
        Names in ``draws`` that vary by draw; they are reshaped to ``(S, 1, ...)``.
    adjusted
        Whether the model has covariates (needs ``beta``, ``covariate_center/scale``).

    Returns
    -------
    p, t, x, eta
        ``p``: draws (per-draw arrays reshaped, constants as given); ``t``, ``x``:
        ``(1, T)``; ``eta``: covariate part of the linear predictor, ``(S, T)`` or ``(1, 1)``.

    Examples
    --------
    >>> p, t, x, eta = evaluation_inputs({"log_hr": np.zeros(3)}, [1.0, 2.0], 1, None,
    ...                                  per_draw=["log_hr"], adjusted=False)
    >>> p["log_hr"].shape, t.shape, x.tolist(), eta.shape
    ((3, 1), (1, 2), [[1.0, 1.0]], (1, 1))
    """
    t = np.atleast_1d(np.asarray(t, float))
    if t.ndim != 1 or not np.all(t >= 0):
        raise BridgeBayesError(f"t: expected times >= 0 in a 1-D array, got {t}")
    x = np.broadcast_to(np.asarray(x, float), t.shape)[None, :]
    constants = ("covariate_center", "covariate_scale") if adjusted else ()
    missing = [n for n in (*per_draw, *constants) if n not in draws]
    if missing:
        raise BridgeBayesError(f"draws: missing {missing}; use posterior_draws(idata)")
    n_draws = np.shape(draws["log_hr"])[0]
    p = {name: np.asarray(value, float) for name, value in draws.items()}
    p |= {n: p[n].reshape(n_draws, 1, *p[n].shape[1:]) for n in per_draw}
    eta = np.zeros((1, 1))
    if adjusted:
        center, scale = p["covariate_center"], p["covariate_scale"]
        raw = center if covariates is None else np.asarray(covariates, float)
        z = (np.broadcast_to(raw, (t.size, center.size)) - center) / scale
        eta = p["beta"][:, 0, :] @ z.T
    elif covariates is not None:
        raise BridgeBayesError("covariates: this family was built without covariates")
    return p, t[None, :], x, eta
