"""The ``pacsmine`` command line: a thin layer over the stage modules.

Each command parses its options, loads the one effective config, and calls one
function of a stage module; no mining logic lives here. Stage modules are
imported inside the commands so that ``--help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="Mine a PACS export (reports + key images) into labels, vectors and image models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
topics_app = typer.Typer(
    help="Topic mining (LDA at document, second-hierarchy and sentence level).",
    invoke_without_command=True,
)
app.add_typer(topics_app, name="topics")

ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="TOML file overriding the defaults.", exists=True)
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override one setting, e.g. --set topics.level1.iterations=100 (repeatable)."),
]
WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Rerun even if the stage is up to date.")]


def _config(config: Optional[Path], overrides: Optional[list[str]]) -> dict:
    from .config import load_config

    try:
        cfg = load_config(config, overrides or [])
        _check_config(cfg)
        return cfg
    except (KeyError, TypeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc


def _check_config(cfg: dict) -> None:
    """Settings checked before any stage starts (a ValueError naming the key)."""
    from .nlp.tokens import Tokenizer
    from .topics.selection import check_rules

    Tokenizer.from_config(cfg["extract"]["tokens"])
    for level in ("level1", "level2", "level3"):
        check_rules(cfg["topics"][level], f"topics.{level}")


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the effective configuration (defaults < --config file < --set) as TOML."""
    from .config import dumps

    typer.echo(dumps(_config(config, set_)), nl=False)


@app.command()
def phantom(
    out: Annotated[Path, typer.Argument(help="Folder to write the phantom PACS export to.")],
    reports: Annotated[int, typer.Option("--reports", "-n", help="Number of reports.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 0,
    images: Annotated[bool, typer.Option("--images/--no-images", help="Write DICOM key images.")] = True,
    difficulty: Annotated[
        Optional[str],
        typer.Option("--difficulty", help="easy (the rules' own wordings) or hard (what real reports do); "
                                          "default phantom.difficulty."),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate a synthetic PACS export (reports, DICOM images) with its ground truth in OUT/truth."""
    from .phantom import generate

    cfg = _config(config, set_)
    if difficulty is not None:
        cfg["phantom"]["difficulty"] = difficulty
    if cfg["phantom"]["difficulty"] not in ("easy", "hard"):
        raise typer.BadParameter(f"difficulty must be 'easy' or 'hard', not {cfg['phantom']['difficulty']!r}",
                                 param_hint="--difficulty")
    summary = generate(out, reports=reports, seed=seed, config=cfg["phantom"], images=images)
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def ingest(
    export: Annotated[Path, typer.Argument(help="Export folder (reports CSV/JSONL/Parquet or OpenI XML, images).", exists=True)],
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Read an export's reports and images into the workspace (bad input goes to ingest/rejects.parquet)."""
    from .ingest import run_ingest
    from .workspace import Workspace

    run_ingest(export, Workspace(workspace), _config(config, set_), force=force)


@app.command()
def extract(
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Sections, sentences, tokens, key-image references, disease terms, negation and bigrams."""
    from .nlp import run_extract
    from .workspace import Workspace

    run_extract(Workspace(workspace), _config(config, set_), force=force)


@app.command()
def refs(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Read text on stdin (one sentence or report a line); write one JSON object of references a line.

    Output: {"refs": [{"series": 3, "image": 45}, ...]}, series null where none is written,
    ranges expanded in order.
    """
    from .nlp.refs import ReferenceParser

    parser = ReferenceParser.from_config(_config(config, set_)["extract"]["references"])
    out = sys.stdout
    for line in sys.stdin:
        found = parser.parse(line.rstrip("\n"))
        out.write(json.dumps({"refs": [{"series": r.series, "image": r.image} for r in found]}) + "\n")
    out.flush()


@topics_app.callback()
def topics(
    ctx: typer.Context,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace folder.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Mine topic labels at three levels (run without a subcommand), or label new reports (infer)."""
    if ctx.invoked_subcommand is not None:
        return
    if workspace is None:
        raise typer.BadParameter("--workspace is required", param_hint="--workspace")
    from .topics import run_topics
    from .workspace import Workspace

    run_topics(Workspace(workspace), _config(config, set_), force=force)


@topics_app.command("infer")
def topics_infer(
    workspace: WorkspaceOpt,
    reports: Annotated[
        Path, typer.Argument(help="Reports to label: CSV, JSONL or Parquet with a text column, or '-' for one report a line on stdin.")
    ],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="JSONL output (default: stdout).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Label new reports with the workspace's trained level-1 and level-2 topic models."""
    from .topics import infer_reports
    from .workspace import Workspace

    infer_reports(Workspace(workspace), _config(config, set_), reports, output)


@app.command()
def evaluate(
    workspace: WorkspaceOpt,
    truth: Annotated[
        Optional[Path], typer.Option("--truth", help="Ground-truth folder (default: the ingested export's truth/).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print evaluation.json alone on stdout.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Score every stage present in the workspace against the ground truth; writes evaluation.json."""
    from .evaluate import print_table, run_evaluate
    from .workspace import Workspace

    result = run_evaluate(Workspace(workspace), _config(config, set_), truth=truth)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_table(result)


@app.command("assert")
def assert_(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Assert your own spans: JSON lines {"text": ..., "spans": [[start, end], ...]} on stdin,
    one line {"spans": [{"start", "end", "status", "negated", "uncertain", "historical"}]}
    out per input line (a bad line gives {"error": ...} and exit code 1 at the end)."""
    from .nlp.negation import ConText, assert_report
    from .nlp.sections import SectionSplitter
    from .nlp.sentences import SentenceSplitter, report_spans

    cfg = _config(config, set_)["extract"]
    context = ConText.from_config(cfg["terms"].get("negation", {}))
    sections, splitter = SectionSplitter.from_config(cfg["sections"]), SentenceSplitter.from_config(cfg["sentences"])
    bad = 0
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not isinstance(item.get("spans"), list):
                raise ValueError('each line is an object {"text": "<string>", "spans": [[start, end], ...]}')
            result = {"spans": assert_report(item["text"], item["spans"], context,
                                             report_spans(item["text"], sections, splitter))}
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            bad += 1
            message = f"line {n}: {exc}"
            typer.echo(message, err=True)
            result = {"error": message}
        typer.echo(json.dumps(result))
    if bad:
        raise typer.Exit(1)


@app.command()
def run(
    export: Annotated[Path, typer.Argument(help="Export folder.", exists=True)],
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Chain every stage (run.stages) on an export; finished, unchanged stages are skipped."""
    from .pipeline import run_pipeline
    from .workspace import Workspace

    run_pipeline(export, Workspace(workspace), _config(config, set_), force=force)


@app.command()
def demo(
    reports: Annotated[Optional[int], typer.Option("--reports", "-n", help="Phantom size (default run.demo.reports).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make an easy and a hard phantom export, run the pipeline on each (./demo-workspace,
    ./demo-workspace-hard), evaluate both side by side, and say where it all is."""
    from .pipeline import run_demo

    # run.demo.overrides apply on top of the defaults and the file; --set still wins.
    demo_overrides = _config(config, set_)["run"]["demo"]["overrides"]
    run_demo(_config(config, [*demo_overrides, *(set_ or [])]), reports=reports)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
