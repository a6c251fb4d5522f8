"""Planning future trials from posteriors: assurance, sample size, operating characteristics.

Modules (one job each; see ``docs/plan.md``):

* ``truths`` — true parameters of simulated trials, exact inversion of cumulative hazards;
* ``design_prior`` — design priors from a run's posterior NetCDF (discounted) or explicit;
* ``simulate`` — the future-trial simulator (accrual, dropout, analysis timing);
* ``logrank``, ``exact_batch`` — log-rank Z and the exact PEM posterior, vectorised;
* ``analyse`` — analysis priors and per-trial analysis; ``nuts_path`` — NUTS analysis;
* ``run``, ``dask_runner`` — chunked, seeded, resumable runs on ``dask.distributed``;
* ``outputs`` — assurance, sample size, power, type I error, calibration, figure;
* ``formulas`` — closed-form references (Schoenfeld, O'Hagan–Stevens–Campbell);
* ``interim`` — predictive probability of success given interim data;
* ``spec``, ``cli_support`` — the ``[plan]`` table and the ``plan`` command.

Submodules are imported on use (Dask workers then load only what they need).
"""
