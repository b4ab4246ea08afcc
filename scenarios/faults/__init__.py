"""Faults the lab injects: a Toxiproxy-compatible TCP proxy, replication lag, process and
server faults, and the registry of nemesis fault kinds that switches them on and off.

    proxy.py        ``python -m scenarios.faults.proxy``: the proxy and its HTTP API
    toxics.py       Toxiproxy's toxics: names, attributes, validation
    links.py        one proxied connection: two pumps and the toxics applied to them
    api.py          Toxiproxy 2.x's HTTP API over the proxies
    client.py       a small client of that API (the nemesis and the lab use it)
    lab.py          the proxy as a lab process, and service URLs routed through it
    heartbeat.py    replication lag measured as pt-heartbeat does, beside Seconds_Behind_Master
    replication.py  MASTER_DELAY, the SQL thread, and the replication link through the proxy
    processes.py    service workers killed or paused, lab servers stopped, DB connections killed
    fault_kind.py   what a fault kind is: on/off actions and a parameter schema
    psp_faults.py, proxy_faults.py, replication_faults.py, process_faults.py
                    the kinds, beside what they act on
    kinds.py        the one registry of kinds (``FAULT_KINDS``)
"""
