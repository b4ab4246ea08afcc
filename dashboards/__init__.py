"""Watching runs live: the InfluxDB writer, and Grafana dashboards generated from Python.

``dashboards/`` imports nothing of the lab (DESIGN.md): the writer takes points, the
dashboards read the measurements named in ``dashboards/schema.py``, and the lab's runner
is what turns its records into points.
"""
