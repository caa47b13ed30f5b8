"""Take review: contact sheets, the human-in-the-loop choice of a take, publishing it, and the
Airflow UI plugin that shows the takes."""
