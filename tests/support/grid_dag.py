"""The source of a seed-grid DAG file for the tests that run one on real Airflow: a mapped
:class:`SeedanceReferenceToVideoOperator` of red kites (fast tier, 5 s, deferrable) over seeds."""

from __future__ import annotations

import textwrap


def kite_grid_dag(dag_id: str, seeds: list[int], **render: object) -> str:
    """``dag_id`` with one task ``render``: ``partial(..., **render).expand(seed=seeds)``."""
    options = "".join(f"                {name}={value!r},\n" for name, value in render.items())
    return textwrap.dedent(
        f"""\
        from __future__ import annotations

        import pendulum
        from airflow.sdk import dag

        from airflow_provider_seedance.operators.seedance import SeedanceReferenceToVideoOperator


        @dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
        def {dag_id}():
            SeedanceReferenceToVideoOperator.partial(
                task_id="render",
                prompt="A red kite over green hills",
                duration=5,
                tier="fast",
                deferrable=True,
{options}            ).expand(seed={seeds!r})


        {dag_id}()
        """
    )
