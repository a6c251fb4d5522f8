"""Reader-facing names of model families, causes, transitions and multistate quantities."""

from __future__ import annotations

__all__ = ["DISPLAY_LABELS", "display_label", "family_label"]

#: Display labels of causes, transitions and multistate quantities (other names unchanged).
DISPLAY_LABELS = {"nrm": "NRM", "relapse": "relapse", "post_relapse_death": "death after relapse",
                  "os": "OS", "pfs": "PFS", "relapse_cif": "relapse CIF", "nrm_cif": "NRM CIF",
                  "os & nrm_cif": "OS and NRM CIF", "relapsed_alive": "relapsed and alive"}


def family_label(name: str) -> str:
    """Short label of a model family (``"PEM"``, ``"Weibull"``; other names unchanged).

    Examples
    --------
    >>> family_label("piecewise_exponential"), family_label("pem"), family_label("weibull")
    ('PEM', 'PEM', 'Weibull')
    """
    return {"piecewise_exponential": "PEM", "pem": "PEM", "weibull": "Weibull"}.get(name, name)


def display_label(name: str) -> str:
    """Reader-facing label of a cause, transition or quantity name (``"nrm"`` → ``"NRM"``).

    Examples
    --------
    >>> display_label("nrm"), display_label("post_relapse_death"), display_label("gvhd")
    ('NRM', 'death after relapse', 'gvhd')
    """
    return DISPLAY_LABELS.get(name, name)
