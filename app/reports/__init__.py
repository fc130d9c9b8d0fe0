"""Presentation of analytics: Plotly figure builders and their style, PNG/SVG export, CSV
writers for tables."""

from app.reports.ab_charts import AB_CHARTS, METRIC_LABELS, confidence_label, metric_label
from app.reports.ab_table import DECISIONS, FORMATTERS, ab_results_to_csv, leader, result_rows
from app.reports.analytics_csv import analytics_to_csv
from app.reports.charts import CHARTS
from app.reports.csv_writer import write_csv
from app.reports.export import FORMATS, ExportUnavailable, to_image
from app.reports.style import count, embed_json, rate, sparkline_points

__all__ = [
    "AB_CHARTS",
    "CHARTS",
    "DECISIONS",
    "FORMATS",
    "FORMATTERS",
    "METRIC_LABELS",
    "ExportUnavailable",
    "ab_results_to_csv",
    "analytics_to_csv",
    "confidence_label",
    "count",
    "embed_json",
    "leader",
    "metric_label",
    "rate",
    "result_rows",
    "sparkline_points",
    "to_image",
    "write_csv",
]
