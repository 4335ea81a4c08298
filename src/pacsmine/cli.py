"""The ``pacsmine`` command line: a thin layer over the stage modules.

Each command parses its options, loads the one effective config, and calls one
function of a stage module; no mining logic lives here. Stage modules are
imported inside the commands so that ``--help`` stays instant.

Errors are handled in one place (:func:`_run`, around every command): one line on
stderr and exit status 2 for a usage error (a bad option or setting, a missing
column, no reports, a stage run before its input), 1 for an environment error
(disk full, a read-only or busy workspace) or anything unexpected, 130 for Ctrl-C.
The global ``--debug`` adds the traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

INTERRUPTED = "interrupted; rerun the same command to resume"
_STATE = {"debug": False, "interrupted": False, "at_fork": False}


class _App(typer.Typer):
    """The Typer app, run under :func:`_run`'s error handling (what the console script calls)."""

    def __call__(self, args: Optional[list[str]] = None, **_: Any) -> None:  # pragma: no cover - via tests of _run
        _run(self, args)


app = _App(
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

@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="On an error, print the full traceback too.")] = False,
) -> None:
    """Mine a PACS export (reports + key images) into labels, vectors and image models."""
    _STATE["debug"] = debug


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
    from .vectors.train import word2vec_params

    Tokenizer.from_config(cfg["extract"]["tokens"])
    for level in ("level1", "level2", "level3"):
        check_rules(cfg["topics"][level], f"topics.{level}")
    word2vec_params(cfg["vectors"])


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
def vectors(
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Train word vectors (word2vec, multi-word terms joined) on the report sentences."""
    from .vectors import run_vectors
    from .workspace import Workspace

    run_vectors(Workspace(workspace), _config(config, set_), force=force)


@app.command()
def similar(
    word: Annotated[str, typer.Argument(help="A word or term: pneumothorax, 'pleural effusion' or pleural_effusion.")],
    workspace: WorkspaceOpt,
    top: Annotated[Optional[int], typer.Option("--top", "-n", help="Neighbours shown (default vectors.similar_top).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Print the nearest neighbours of WORD in the workspace's word vectors (cosine similarity)."""
    from rich.console import Console

    from .vectors import load_vectors
    from .vectors.show import UnknownWord, neighbours_table
    from .workspace import Workspace

    n = top if top is not None else int(_config(config, set_)["vectors"]["similar_top"])
    ws = Workspace(workspace)
    ws.require("vectors", "vectors.safetensors")
    try:
        table = neighbours_table(load_vectors(ws), word, n, str(ws.root))
    except UnknownWord as exc:
        typer.echo(f"pacsmine: {exc}", err=True)
        raise typer.Exit(1) from None
    Console().print(table)


@app.command()
def train(
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Key-image data set and one CNN per topic level and architecture (Table 3); resumes after a kill."""
    from .images import run_images
    from .workspace import Workspace

    run_images(Workspace(workspace), _config(config, set_), force=force)


@app.command()
def retrieval(
    workspace: WorkspaceOpt,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    force: ForceOpt = False,
) -> None:
    """Bigram regression CNN, keywords by retrieval (R@K) and a contrastive image-text model; resumes after a kill."""
    from .retrieval import run_retrieval
    from .workspace import Workspace

    run_retrieval(Workspace(workspace), _config(config, set_), force=force)


@app.command()
def predict(
    images: Annotated[list[Path], typer.Argument(help="PNG, JPEG or DICOM files.")],
    workspace: WorkspaceOpt,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per image on stdout.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Topics, keywords and the nearest key images and sentences of new images (the retrieval stage's models)."""
    import json as _json

    from .retrieval.predict import predict as run_predict
    from .workspace import Workspace

    ws = Workspace(workspace)
    ws.require("retrieval", "evaluation/retrieval.json")
    for answer in run_predict(images, ws, _config(config, set_)):
        if json_:
            typer.echo(_json.dumps(answer))
        elif "error" in answer:
            typer.echo(f"{answer['image']}: {answer['error']}")
        else:
            typer.echo(answer["image"])
            for level, rows in answer["topics"].items():
                typer.echo(f"  {level}: " + "; ".join(f"{r['topic']} ({r['p']:.2f}: {' '.join(r['top_words'][:5])})"
                                                       for r in rows))
            typer.echo("  keywords: " + ", ".join(answer["keywords"]))
            for r in answer["neighbours"]:
                typer.echo(f"  near {r['image_id']} ({r['score']:.2f}): {r['sentence']}")
            for r in answer["sentences"][:3]:
                typer.echo(f"  sentence ({r['score']:.2f}): {r['sentence']}")


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


# --------------------------------------------------------------------------- errors


def _quiet_child() -> None:
    """In a forked worker: Ctrl-C is the parent's to handle (it stops the pool); a worker
    that took it too would print its own traceback, interleaved with the others'."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _on_sigint(signum: int, frame: Any) -> None:
    _STATE["interrupted"] = True
    raise KeyboardInterrupt


def _workspace_arg(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in ("-w", "--workspace") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--workspace="):
            return arg.split("=", 1)[1]
    return None


def _errno(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    found = re.search(r"errno (\d+)", str(exc), re.IGNORECASE)  # pyarrow's IO errors carry it in the text
    return int(found.group(1)) if found else None


def _click():
    """The click exceptions of the running Typer (Typer 0.2x vendors its own click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - a Typer that uses the click package
        from click import exceptions
    return exceptions


def describe_error(exc: BaseException, args: list[str]) -> tuple[int, str]:
    """(exit status, one line) for an exception that ended a command."""
    click = _click()

    from .workspace import StageIncomplete, StageMissing, WorkspaceBusy

    if isinstance(exc, click.UsageError):
        path = exc.ctx.command_path if exc.ctx is not None else "pacsmine"
        return 2, f"{path}: {exc.format_message()} (see {path} --help)"
    if isinstance(exc, click.ClickException):
        return exc.exit_code or 1, f"pacsmine: {exc.format_message()}"
    if isinstance(exc, (StageMissing, ValueError)):  # IngestError, config and input errors are ValueErrors
        return 2, f"pacsmine: {exc}"
    if isinstance(exc, (WorkspaceBusy, StageIncomplete)):
        return 1, f"pacsmine: {exc}"
    if isinstance(exc, OSError):
        number = _errno(exc)
        where = exc.filename or _workspace_arg(args) or "the workspace"
        if number in (errno.ENOSPC, errno.EDQUOT):
            return 1, (f"pacsmine: no space left on device writing {where}; free some space or use "
                       "--workspace on another disk, then rerun the same command to resume")
        if number == errno.EROFS:
            return 1, (f"pacsmine: read-only file system: cannot write {where}; use --workspace on a "
                       "writable disk")
        if number in (errno.EACCES, errno.EPERM):
            return 1, (f"pacsmine: permission denied on {where}; make it writable (readable, for an input) "
                       "or use another --workspace")
        return 1, f"pacsmine: {exc.strerror or exc}: {where}"
    return 1, (f"pacsmine: unexpected error: {type(exc).__name__}: {exc} "
               "(rerun with --debug for the traceback, and report it)")


def _run(command_app: typer.Typer, args: Optional[list[str]] = None) -> None:
    """Run the command line ``args`` (default ``sys.argv[1:]``) and exit with its status."""
    click = _click()

    args = list(sys.argv[1:] if args is None else args)
    if not _STATE["at_fork"]:
        os.register_at_fork(after_in_child=_quiet_child)
        _STATE["at_fork"] = True
    _STATE.update(debug=False, interrupted=False)
    import threading

    main_thread = threading.current_thread() is threading.main_thread()  # signals go to the main thread only
    previous = signal.getsignal(signal.SIGINT)
    if main_thread:
        signal.signal(signal.SIGINT, _on_sigint)
    status = 0
    try:
        result = typer.main.get_command(command_app).main(args=args, prog_name="pacsmine", standalone_mode=False)
        status = result if isinstance(result, int) else 0
        if _STATE["interrupted"]:  # Typer turns Ctrl-C into a silent exit status 130
            status = _interrupted()
    except click.NoArgsIsHelpError as exc:  # `pacsmine` alone: the help, status 2 as before
        exc.show()
        status = exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        status = _interrupted()
    except typer.Exit as exc:
        status = exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes one line
        if _STATE["interrupted"]:
            status = _interrupted()
        else:
            if _STATE["debug"]:
                traceback.print_exc()
            status, line = describe_error(exc, args)
            print(" ".join(line.split()), file=sys.stderr, flush=True)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    sys.exit(status)


def _child_pids() -> list[int]:
    """Pids of this process's children (Linux /proc; empty elsewhere)."""
    me, found = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                        if int(fh.read().rsplit(")", 1)[1].split()[1]) == me:
                            found.append(int(entry))
    return found


def _interrupted() -> int:
    """Stop the worker processes still starting or running, then say so in one line.

    A ``multiprocessing.Pool`` interrupted inside its constructor is never terminated by
    the code that built it, and its handler thread would fork new workers in place of the
    stopped ones (printing their start-up lines after this one): such pools are found and
    stopped first."""
    import gc
    import multiprocessing
    import multiprocessing.pool

    for obj in gc.get_objects():
        if isinstance(obj, multiprocessing.pool.Pool):
            try:
                obj.terminate()
            except Exception:  # noqa: BLE001 - half-built: stop its handler thread at least
                handler = getattr(obj, "_worker_handler", None)
                if handler is not None:
                    handler._state = multiprocessing.pool.TERMINATE
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(5)
    # A worker forked a moment before Ctrl-C may not be registered anywhere yet.
    for pid in _child_pids():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    print(INTERRUPTED, file=sys.stderr, flush=True)
    return 130


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
