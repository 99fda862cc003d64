"""`cityos basemap build`, and the base maps `cityos serve` and `cityos demo` serve."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from cityos.basemap import packaged
from cityos.basemap.build import DEFAULT_MAX_TILES, BasemapError, LayerSpec, build
from cityos.basemap.build import Progress as ProgressCallback

console = Console()

basemap_app = typer.Typer(
    help="Vector-tile base maps (PMTiles) for the dashboard.", no_args_is_help=True
)

BasemapOption = Annotated[
    Path | None,
    typer.Option(
        envvar="CITYOS_BASEMAP",
        help="The city's own base map, a PMTiles archive of vector tiles (docs/basemap.md); "
        "default: the packaged Chongqing one if `cityos basemap packaged` built it into "
        "DATA/basemap.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A Rich progress bar, as a build's progress callback."""
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update


@basemap_app.command("build")
def build_command(
    out: Annotated[Path, typer.Argument(help="The archive to write (.pmtiles).", dir_okay=False)],
    layers: Annotated[
        list[str],
        typer.Argument(
            help="NAME=FILE[#OBJECT][:MINZOOM-MAXZOOM]: a GeoJSON or TopoJSON file (OBJECT: "
            "which TopoJSON object) as layer NAME, between its zooms (default 0-12).",
            show_default=False,
        ),
    ],
    attribution: Annotated[
        str, typer.Option(help="Who the data is from, kept in the archive's metadata.")
    ] = "",
    max_tiles: Annotated[
        int, typer.Option(help="Stop before writing more tiles than this.", min=1)
    ] = DEFAULT_MAX_TILES,
) -> None:
    """Turn GeoJSON/TopoJSON layers into a PMTiles archive of vector tiles (WGS-84 or the
    datum of the city's other layers: nothing is reprojected but to Web Mercator)."""
    try:
        specs = [LayerSpec.parse(text) for text in layers]
    except BasemapError as error:
        raise typer.BadParameter(str(error), param_hint="LAYERS") from None
    started = time.monotonic()
    try:
        with progress_bar() as update:
            report = build(
                out, specs, attribution=attribution, max_tiles=max_tiles, progress=update
            )
    except BasemapError as error:
        console.print(f"[red]{escape(str(error))}[/]")
        raise typer.Exit(1) from None
    counts = ", ".join(f"{name} {count}" for name, count in report.features.items())
    console.print(
        f"{escape(str(out))}: {report.tiles} tiles, {report.bytes / 1e6:.1f} MB in "
        f"{time.monotonic() - started:.1f} s ({counts} features)"
    )


def basemaps(data: Path, own: Path | None, *, build: bool = False) -> dict[str, Path]:
    """The archives to serve (name → file): the city's own as `city` if given, else the
    packaged Chongqing one; the packaged world one for the corridor map. Packaged ones are
    served from DATA/basemap; with `build`, made there first when missing or stale (a few
    seconds; `cityos demo`), otherwise served only if `cityos basemap packaged` made them:
    `cityos serve` starts at once."""
    directory = data / "basemap"
    served: dict[str, Path] = {}
    with progress_bar() as update:
        for name in packaged.PACKAGED:
            alias = "city" if name == "chongqing" else name
            if alias == "city" and own is not None:
                served[alias] = own
                continue
            if build:
                started = time.monotonic()
                path = packaged.ensure(name, directory, update)
                if time.monotonic() - started > 1:
                    console.print(f"  base map {name}: built into {escape(str(path))}")
            else:
                path = packaged.PREBUILT.get(name, directory / f"{name}.pmtiles")
            if path.is_file():
                served[alias] = path
    return served


DataOption = Annotated[
    Path,
    typer.Option("--data", envvar="CITYOS_DATA", help="The data directory `cityos serve` uses."),
]


@basemap_app.command("packaged")
def packaged_command(data: DataOption = Path("cityos-data")) -> None:
    """Build the packaged base maps (Chongqing, world) into DATA/basemap, for `cityos serve`
    (`cityos demo` builds them itself)."""
    for name, path in basemaps(data, None, build=True).items():
        console.print(f"{name}: {escape(str(path))} ({path.stat().st_size / 1e6:.1f} MB)")
