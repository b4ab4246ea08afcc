"""Glue between ``grafana-foundation-sdk`` and InfluxDB: raw InfluxQL targets, variables,
annotations, and the one panel shape the dashboards use.

The SDK builds dashboards, panels and variables, but has no InfluxDB query type and its
annotation model lacks InfluxDB's fields; both are added here by subclassing its models, so
the JSON is still the SDK's own encoder's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models

from dashboards import schema

DATASOURCE_UID = "ticketlab-influxdb"
DATASOURCE = models.DataSourceRef(type_val="influxdb", uid=DATASOURCE_UID)
RUN_FILTER = '"run" =~ /^$run$/ AND "variant" =~ /^$variant$/'


@dataclass
class InfluxQuery(variants.Dataquery):
    """A raw InfluxQL target, in the shape Grafana's InfluxDB data source saves."""

    ref_id: str
    query: str
    alias: str = ""

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": DATASOURCE,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": "time_series",
        }
        if self.alias:
            body["alias"] = self.alias
        return body


@dataclass
class Target:
    """A builder for :class:`InfluxQuery`, as the SDK's ``with_target`` expects."""

    query: InfluxQuery

    def build(self) -> InfluxQuery:
        return self.query


def select(
    what: str,
    measurement: str,
    *,
    by: tuple[str, ...] = ("variant",),
    where: str = "",
    fill: str = "none",
) -> str:
    """``SELECT what FROM measurement`` for the chosen runs and variants, per interval."""
    condition = f"$timeFilter AND {RUN_FILTER}" + (f" AND {where}" if where else "")
    groups = ", ".join(["time($__interval)", *(f'"{tag}"' for tag in by)])
    return f'SELECT {what} FROM "{measurement}" WHERE {condition} GROUP BY {groups} fill({fill})'


@dataclass
class Chart:
    """One time-series panel: a title, a unit, and its queries with their legends."""

    title: str
    unit: str
    queries: list[tuple[str, str]]  # (InfluxQL, legend alias)
    description: str = ""
    width: int = 12
    height: int = 8
    stacked: bool = False
    log_scale: bool = False
    targets: list[InfluxQuery] = field(init=False)

    def __post_init__(self) -> None:
        self.targets = [
            InfluxQuery(chr(ord("A") + n), q, alias) for n, (q, alias) in enumerate(self.queries)
        ]

    def panel(self, panel_id: int) -> timeseries.Panel:
        built = (
            timeseries.Panel()
            .id(panel_id)
            .title(self.title)
            .description(self.description)
            .datasource(DATASOURCE)
            .unit(self.unit)
            .interval("1s")  # points are per second: a finer interval only splits them
            .height(self.height)
            .span(self.width)
            .line_width(1)
            .fill_opacity(10 if self.stacked else 0)
            .show_points(common.VisibilityMode.NEVER)
            .legend(
                common_builders.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["mean", "max", "lastNotNull"])
            )
            .tooltip(
                common_builders.VizTooltipOptions()
                .mode(common.TooltipDisplayMode.MULTI)
                .sort(common.SortOrder.DESCENDING)
            )
        )
        if self.stacked:
            built = built.stacking(
                common_builders.StackingConfig().mode(common.StackingMode.NORMAL)
            )
        if self.log_scale:
            built = built.scale_distribution(
                common_builders.ScaleDistributionConfig().type(common.ScaleDistribution.LOG).log(10)
            )
        for target in self.targets:
            built = built.with_target(Target(target))
        return built


@dataclass
class Row:
    title: str
    charts: list[Chart]


def run_variable() -> builders.QueryVariable:
    """Runs by name, newest first (run ids start with their timestamp); several at once."""
    return (
        builders.QueryVariable("run")
        .label("run")
        .datasource(DATASOURCE)
        .query(f'SHOW TAG VALUES FROM "{schema.LOAD}" WITH KEY = "run"')
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_DESC)
        .multi(True)
    )


def variant_variable() -> builders.QueryVariable:
    return (
        builders.QueryVariable("variant")
        .label("variant")
        .datasource(DATASOURCE)
        .query(f'SHOW TAG VALUES FROM "{schema.LOAD}" WITH KEY = "variant" WHERE "run" =~ /^$run$/')
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
    )


class InfluxAnnotationModel(models.AnnotationQuery):
    """Grafana's InfluxDB annotation: an InfluxQL query and which columns hold what."""

    def __init__(self, query: str, text_column: str, tags_column: str, title_column: str):
        super().__init__()
        self.query = query
        self.text_column = text_column
        self.tags_column = tags_column
        self.title_column = title_column

    def to_json(self) -> dict[str, object]:
        return {
            **super().to_json(),
            "query": self.query,
            "textColumn": self.text_column,
            "tagsColumn": self.tags_column,
            "titleColumn": self.title_column,
        }


@dataclass
class Annotation:
    """A builder of :class:`InfluxAnnotationModel` for ``Dashboard.annotation``."""

    name: str
    kind: str
    color: str

    @property
    def query(self) -> str:
        return (
            f'SELECT "title", "text", "kind" FROM "{schema.EVENTS}" WHERE $timeFilter'
            f" AND {RUN_FILTER} AND \"kind\" = '{self.kind}'"
        )

    def build(self) -> models.AnnotationQuery:
        model = InfluxAnnotationModel(self.query, "text", "kind", "title")
        model.name = self.name
        model.datasource = DATASOURCE
        model.enable = True
        model.icon_color = self.color
        return model


ANNOTATIONS = (
    Annotation("faults", "fault", "red"),
    Annotation("phases", "phase", "blue"),
)


def dashboard(uid: str, title: str, description: str, rows: list[Row]) -> builders.Dashboard:
    built = (
        builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["ticketlab"])
        .refresh("5s")
        .time("now-15m", "now")
        .timezone("browser")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(run_variable())
        .with_variable(variant_variable())
    )
    for annotation in ANNOTATIONS:
        built = built.annotation(annotation)
    panel_id = 1
    for row in rows:
        built = built.with_row(builders.Row(row.title).id(panel_id))
        panel_id += 1
        for chart in row.charts:
            built = built.with_panel(chart.panel(panel_id))
            panel_id += 1
    return built
