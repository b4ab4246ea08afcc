"""The load side of the lab: Locust buyers, load shapes, open-model arrivals, recording.

Importing Locust monkey-patches the standard library with gevent, so it must never reach
the test process or any asyncio process. The package is split accordingly:

pure (safe to import anywhere, unit-tested)
    ``workload``  the workload config the runner writes and Locust reads (JSON)
    ``shapes``    load-shape math: users and spawn rate at time t (stages, spike, step …)
    ``arrivals``  the open-model arrival schedule (intended start of each iteration)
    ``seats``     seat picking: uniform, hot spot, fixed
    ``records``   one HTTP exchange → one history ``Operation`` (outcome, problem type, ids)
    ``recorder``  buffered JSON-lines writer, one file per Locust process
    ``merge``     merging the per-process files into ``operations.jsonl``
    ``process``   the Locust command lines (headless, web UI) and starting one

Locust-facing glue (imported only inside the Locust process)
    ``users``          the ``Buyer`` (``FastHttpUser``): the flow — sign in, browse, hold,
                       reserve, pay, or walk away
    ``client``         the booking API as the buyer calls it: one request, one recorded
                       operation, judged the same way for Locust's statistics
    ``locustfile``     the file given to ``locust -f``: CLI option, events, flushing
    ``shapefile``      the ``LoadTestShape`` driven by the workload's shape (added to ``-f``)
"""
