#!/usr/bin/env python3
"""Renders one Driftwatch dashboard panel as a PNG (or SVG) from real data.

Grafana is not packaged for Debian, so this draws the panel itself, in
Grafana's dark theme, from the same queries the dashboards run:

  # a panel SQL query against Driftwatch's PostgreSQL (psql must be on PATH);
  # the first column is the time, every other numeric column a series
  render_dashboard_png.py --postgres "host=/run/postgresql dbname=driftwatch" \\
      --sql "SELECT created_at AS time, target AS metric, pass_rate FROM report.run_summary ORDER BY 1" \\
      --title "Pass rate per run" --unit percentunit --out score.png

  # a PromQL range query against Prometheus
  render_dashboard_png.py --prometheus http://127.0.0.1:9090 --since 6h \\
      --expr 'max by (target) (driftwatch_score{golden_set="support", slice="all"})' \\
      --title "Score" --unit percentunit --out score.png

A SQL query may return a text column named "metric": its values then name
the series, as in Grafana's time-series format. The PNG is converted from the
SVG with rsvg-convert (Debian package librsvg2-bin) or ImageMagick's convert;
an --out ending in .svg needs neither. Only the Python standard library is
used.
"""
import argparse
import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

# Grafana's dark theme and "classic palette".
BACKGROUND = "#181b1f"
PANEL = "#111217"
GRID = "#2c3235"
TEXT = "#ccccdc"
MUTED = "#8e8e8e"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0"]

WIDTH, HEIGHT = 1000, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 44, 90  # plot margins


def parse_time(text):
    text = text.strip()
    try:
        return float(text)  # epoch seconds ($__timeGroupAlias)
    except ValueError:
        pass
    text = text.replace(" ", "T", 1)
    if len(text) >= 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += ":00"  # PostgreSQL prints +00
    return dt.datetime.fromisoformat(text).timestamp()


def series_from_sql(conninfo, sql):
    """{name: [(t, v)]} from psql's CSV output."""
    out = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql, conninfo],
                         check=True, capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    if header[0] != "time":
        sys.exit("the first column of the query must be named time")
    metric_col = header.index("metric") if "metric" in header else None
    series = {}
    for row in body:
        t = parse_time(row[0])
        for i, cell in enumerate(row[1:], start=1):
            if i == metric_col or cell == "":
                continue
            name = header[i] if metric_col is None else (
                row[metric_col] if len(header) == 3 else f"{row[metric_col]} {header[i]}")
            series.setdefault(name, []).append((t, float(cell)))
    return series


def series_from_prometheus(url, expr, since_seconds, step):
    end = dt.datetime.now(dt.timezone.utc).timestamp()
    query = urllib.parse.urlencode({"query": expr, "start": end - since_seconds, "end": end, "step": step})
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query_range?{query}", timeout=30) as reply:
        data = json.load(reply)
    if data.get("status") != "success":
        sys.exit(f"Prometheus: {data.get('error')}")
    series = {}
    for result in data["data"]["result"]:
        labels = {k: v for k, v in result["metric"].items() if k != "__name__"}
        name = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or expr
        series[name] = [(float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf", "-Inf")]
    return series


def format_value(value, unit):
    if unit == "percentunit":
        return f"{value * 100:.0f}%" if abs(value) >= 0.1 or value == 0 else f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value / 3600:.1f} h" if abs(value) >= 7200 else f"{value:.0f} s"
    if unit == "currencyUSD":
        return f"${value:.2f}"
    return f"{value:.3g}"


def nice_ticks(low, high, count=5):
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.floor(low / step + 1e-9) * step
    ticks, value = [], first
    while True:
        ticks.append(round(value, 12))
        if value >= high - step * 1e-9:
            break
        value += step
    return ticks


def render_svg(series, title, unit, y_min=None, y_max=None, thresholds=(), band=None):
    points = [p for values in series.values() for p in values]
    if not points:
        sys.exit("the query returned no data")
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    if t1 == t0:
        t0, t1 = t0 - 3600, t1 + 3600
    v0 = min([p[1] for p in points] + list(thresholds)) if y_min is None else y_min
    v1 = max([p[1] for p in points] + list(thresholds)) if y_max is None else y_max
    ticks = nice_ticks(v0, v1)
    v0, v1 = min(v0, ticks[0]), max(v1, ticks[-1])
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t):
        return LEFT + (t - t0) / (t1 - t0) * pw

    def y(v):
        return TOP + ph - (v - v0) / (v1 - v0) * ph

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'font-family="Inter, DejaVu Sans, sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{BACKGROUND}"/>',
           f'<rect x="4" y="4" width="{WIDTH - 8}" height="{HEIGHT - 8}" rx="3" fill="{PANEL}" stroke="{GRID}"/>',
           f'<text x="14" y="26" fill="{TEXT}" font-size="14" font-weight="500">{escape(title)}</text>']
    for v in ticks:
        svg.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        svg.append(f'<text x="{LEFT - 8}" y="{y(v) + 4:.1f}" fill="{MUTED}" text-anchor="end">'
                   f'{escape(format_value(v, unit))}</text>')
    span = t1 - t0
    fmt = "%H:%M:%S" if span <= 600 else "%H:%M" if span <= 86400 else "%m-%d %H:%M" if span <= 10 * 86400 else "%Y-%m-%d"
    for i in range(6):
        t = t0 + span * i / 5
        label = dt.datetime.fromtimestamp(t).strftime(fmt)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        svg.append(f'<text x="{x(t):.1f}" y="{TOP + ph + 18}" fill="{MUTED}" text-anchor="{anchor}">{label}</text>')
    for value in thresholds:
        svg.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                   f'stroke="#f2495c" stroke-dasharray="6 4"/>')
    names = list(series)
    if band and band[0] in series and band[1] in series:
        low, high = series[band[0]], series[band[1]]
        path = [f"{x(t):.1f},{y(v):.1f}" for t, v in high] + [f"{x(t):.1f},{y(v):.1f}" for t, v in reversed(low)]
        svg.append(f'<polygon points="{" ".join(path)}" fill="{PALETTE[2]}" fill-opacity="0.2"/>')
        names = [n for n in names if n not in band]
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        values = sorted(series[name])
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in values)
        svg.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>')
        for t, v in values:
            svg.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
        lx, ly = LEFT + (i % 3) * 300, TOP + ph + 42 + (i // 3) * 18
        last = format_value(values[-1][1], unit) if values else ""
        svg.append(f'<rect x="{lx}" y="{ly - 9}" width="14" height="4" fill="{color}"/>')
        svg.append(f'<text x="{lx + 20}" y="{ly - 3}" fill="{TEXT}">{escape(name)}  '
                   f'<tspan fill="{MUTED}">last {escape(last)}</tspan></text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def write_png(svg, out):
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as f:
        f.write(svg)
        path = f.name
    try:
        if shutil.which("rsvg-convert"):
            subprocess.run(["rsvg-convert", "-f", "png", "-o", out, path], check=True)
        elif shutil.which("magick") or shutil.which("convert"):
            tool = shutil.which("magick") or shutil.which("convert")
            subprocess.run([tool, path, out], check=True)
        else:
            sys.exit("no SVG converter: apt-get install librsvg2-bin (or imagemagick), or write .svg")
    finally:
        os.unlink(path)


def duration_seconds(text):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return float(text[:-1]) * units[text[-1]]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--postgres", metavar="CONNINFO", help="libpq connection string for --sql")
    source.add_argument("--prometheus", metavar="URL", help="Prometheus base URL for --expr")
    p.add_argument("--sql", help="panel SQL; first column time, optional text column metric")
    p.add_argument("--expr", help="PromQL range query")
    p.add_argument("--since", default="6h", help="PromQL range (default 6h)")
    p.add_argument("--step", default="60", help="PromQL step in seconds (default 60)")
    p.add_argument("--title", required=True)
    p.add_argument("--unit", default="none", choices=["none", "percentunit", "s", "currencyUSD"])
    p.add_argument("--min", type=float)
    p.add_argument("--max", type=float)
    p.add_argument("--threshold", type=float, action="append", default=[], help="red dashed line")
    p.add_argument("--band", nargs=2, metavar=("LOWER", "UPPER"), help="fill between two series")
    p.add_argument("--out", required=True, help="output .png or .svg")
    args = p.parse_args()
    if args.postgres:
        if not args.sql:
            p.error("--postgres needs --sql")
        series = series_from_sql(args.postgres, args.sql)
    else:
        if not args.expr:
            p.error("--prometheus needs --expr")
        series = series_from_prometheus(args.prometheus, args.expr, duration_seconds(args.since), args.step)
    svg = render_svg(series, args.title, args.unit, args.min, args.max, args.threshold, args.band)
    if args.out.endswith(".svg"):
        with open(args.out, "w") as f:
            f.write(svg)
    else:
        write_png(svg, args.out)
    print(f"wrote {args.out}: {len(series)} series, {sum(len(v) for v in series.values())} points")


if __name__ == "__main__":
    main()
