# The project's image: the service, both providers, Locust's buyers and the live streamer.
# docker-compose.yml runs every ticketlab process from it, each with its own command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /lab
COPY pyproject.toml README.md ./
COPY service ./service
COPY providers ./providers
COPY profiling ./profiling
COPY scenarios ./scenarios
COPY dashboards ./dashboards
COPY reports ./reports
COPY containers ./containers
RUN pip install -e '.[lab]'

# Not root: nothing here needs it. /runs is the volume operations are written to.
RUN useradd --create-home --uid 1000 lab && mkdir -p /runs/compose && chown -R lab /runs
USER lab

EXPOSE 8080 9000 9100 8089
CMD ["python", "-m", "service", "--host", "0.0.0.0", "--port", "8080"]
