"""One instance of an online deployment, served the way Azure's inference server serves it.

    python -m orchard.serving.worker --port PORT [--host 127.0.0.1] --model-dir DIR
        [--code DIR --scoring-script REL_PATH] [--mlflow-model DIR] [--deployment NAME]
        [--max-concurrent-requests N] [--request-timeout-ms MS]

The script's `init()` (or the MLflow model's load) runs before the port is bound, so "GET /
answers 200" is the whole readiness check; if it fails the traceback goes to stderr and the
process exits with INIT_FAILED_EXIT without ever listening. Routes, as Azure's:

    GET  /              "Healthy"
    GET|POST /score     the model (GET passes the query parameters as the input)
    GET  /swagger.json  ?version=2 (default) | 3 | 3.1

Each scoring call runs on a thread of a pool, so the event loop keeps answering health checks
while a model works. Beyond `--max-concurrent-requests` calls in flight a request gets 429 at
once; a call running past `--request-timeout-ms` gets 408, as Azure's endpoints answer.

Nothing of Orchard's but its two scoring modules is imported: the worker runs in the
deployment's environment, and is ready about 0.3 s after it starts, plus the user's init().
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from orchard.serving.payloads import CollectorSettings, PayloadCollector
from orchard.serving.scoring import (
    SWAGGER_VERSIONS,
    Reply,
    Scorer,
    ScoreRequest,
    ScriptScorer,
    error_reply,
)

INIT_FAILED_EXIT = 3  # gunicorn's "worker failed to boot", which Azure's server also uses
DEFAULT_TIMEOUT_MS = 3_600_000  # Azure's inference server's own SCORING_TIMEOUT_MS default
# On SIGTERM, requests in flight get this long; the host kills a worker 5 s after asking.
SHUTDOWN_GRACE_S = 3
ORPHAN_CHECK_SECONDS = 0.5
log = logging.getLogger("orchard.serving.worker")


@dataclass(frozen=True)
class Limits:
    max_concurrent: int | None
    timeout_s: float


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.code is None) != (args.scoring_script is None):
        parser.error("--code and --scoring-script go together")
    if (args.code is None) == (args.mlflow_model is None):
        parser.error("give either --code with --scoring-script, or --mlflow-model")
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        scorer = load_scorer(args)
    except BaseException:  # SystemExit from a script's import is a failed init() too
        traceback.print_exc(file=sys.stderr)
        log.error("deployment %s: init failed; this instance will not serve", args.deployment)
        return INIT_FAILED_EXIT
    limits = Limits(args.max_concurrent_requests, args.request_timeout_ms / 1000)
    collector = _collector(args)
    if collector is not None:
        scorer = CollectingScorer(scorer, collector)
    return serve(scorer, limits, args.host, args.port)


class CollectingScorer:
    """A scorer whose answered requests are also collected, on the scoring thread."""

    def __init__(self, scorer: Scorer, collector: PayloadCollector) -> None:
        self.scorer, self.collector = scorer, collector

    def score(self, request: ScoreRequest) -> Reply:
        reply = self.scorer.score(request)
        try:
            self.collector.record(request, reply)
        except OSError:
            log.exception("a payload could not be collected")  # the answer still goes out
        return reply

    def swagger(self, version: str) -> dict[str, Any] | None:
        return self.scorer.swagger(version)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchard.serving.worker")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--model-dir", type=Path, required=True, help="AZUREML_MODEL_DIR")
    parser.add_argument("--code", type=Path, help="the code_configuration's folder")
    parser.add_argument("--scoring-script", help="the scoring script, relative to --code")
    parser.add_argument("--mlflow-model", type=Path, help="an MLflow model folder (no script)")
    parser.add_argument("--deployment", default="ML service", help="its name, for logs and swagger")
    parser.add_argument(
        "--max-concurrent-requests", type=_positive, help="more in flight get 429 (default: no cap)"
    )
    parser.add_argument(
        "--request-timeout-ms", type=_positive, default=DEFAULT_TIMEOUT_MS, help="then 408"
    )
    parser.add_argument("--collect-inputs", type=Path, help="collect request bodies here")
    parser.add_argument("--collect-outputs", type=Path, help="collect answers here")
    parser.add_argument("--collect-sampling-rate", type=float, default=1.0)
    parser.add_argument("--collect-rolling-rate", default="hour", help="minute, hour or day")
    parser.add_argument("--collect-source", default="", help="the payloads' CloudEvents source")
    parser.add_argument("--collect-instance", default="instance-0", help="its files' name")
    return parser


def _collector(args: argparse.Namespace) -> PayloadCollector | None:
    if args.collect_inputs is None and args.collect_outputs is None:
        return None
    settings = CollectorSettings(
        args.collect_inputs,
        args.collect_outputs,
        args.collect_sampling_rate,
        args.collect_rolling_rate,
        args.collect_source,
        args.collect_instance,
    )
    return PayloadCollector(settings)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return value


def load_scorer(args: argparse.Namespace) -> Scorer:
    """Import the script and run its init(), or load the MLflow model: before any port opens."""
    model_dir = args.model_dir.resolve()
    os.environ["AZUREML_MODEL_DIR"] = str(model_dir)  # read by scripts in init()
    if args.mlflow_model is not None:
        from orchard.serving.mlflow_scoring import MlflowScorer  # pandas and MLflow: only here

        log.info("deployment %s: loading the MLflow model %s", args.deployment, args.mlflow_model)
        return MlflowScorer(args.mlflow_model.resolve(), args.deployment)
    code = args.code.resolve()
    os.environ.setdefault("AML_APP_ROOT", str(code))
    os.environ.setdefault("AZUREML_ENTRY_SCRIPT", args.scoring_script)
    log.info("deployment %s: importing %s from %s", args.deployment, args.scoring_script, code)
    return ScriptScorer.start(code, args.scoring_script, args.deployment)


def serve(scorer: Scorer, limits: Limits, host: str, port: int) -> int:
    _stop_when_orphaned(os.getppid())
    pool = ThreadPoolExecutor(_pool_size(limits), thread_name_prefix="score")
    gate = Gate(limits.max_concurrent)
    config = uvicorn.Config(
        build_app(scorer, limits, pool, gate),
        host=host,
        port=port,
        loop="asyncio",
        http=_http_protocol(),
        lifespan="off",
        access_log=False,  # one line per request costs throughput; errors are logged
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    try:
        # On SIGTERM uvicorn stops, then re-raises the signal: the process ends there.
        uvicorn.Server(config).run()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if gate.in_flight:
            # A run() still going cannot be stopped, and Python would wait for its thread.
            log.warning("stopping with %d scoring calls still running", gate.in_flight)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
    return 0


def _stop_when_orphaned(parent: int) -> None:
    """A worker runs in its own session (a Ctrl-C for the host is not one for it), so a host
    that is killed outright cannot stop it: it stops itself, as on SIGTERM, once it is
    reparented. A polling thread, since the host starts workers from threads, which
    PR_SET_PDEATHSIG would take for their parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        log.warning("the endpoint host (pid %d) is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _pool_size(limits: Limits) -> int:
    # With a limit every admitted call has its own thread, so none waits behind another.
    return limits.max_concurrent or min(32, (os.cpu_count() or 1) + 4)


def _http_protocol() -> str:
    # httptools parses faster than h11; use it where the deployment's environment has it.
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


class Gate:
    """Counts scoring calls in flight. Only the event loop's thread touches it."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0

    def enter(self) -> bool:
        if self.limit is not None and self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def finished(self, done: asyncio.Future[Reply]) -> None:
        # Called when the thread is done, not the request: a call that timed out keeps its
        # place until then, so the threads in use never outnumber the places.
        self.leave()
        if not done.cancelled() and done.exception() is not None:
            log.error("scoring failed outside the scorer", exc_info=done.exception())


def build_app(scorer: Scorer, limits: Limits, pool: ThreadPoolExecutor, gate: Gate) -> Starlette:
    swaggers: dict[str, dict[str, Any] | None] = {}
    busy = _response(
        error_reply(
            429,
            "TOO_MANY_REQUESTS",
            f"Too many pending requests: {limits.max_concurrent} are already being scored "
            "(max_concurrent_requests_per_instance).",
        )
    )
    timed_out = error_reply(
        408,
        "REQUEST_TIMEOUT",
        f"Scoring took longer than request_timeout_ms ({limits.timeout_s * 1000:.0f} ms).",
    )

    async def health(request: Request) -> Response:
        return PlainTextResponse("Healthy")

    async def score(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=200)  # as Azure's server answers a CORS preflight
        if not gate.enter():
            return busy
        try:
            scoring = ScoreRequest(
                body=await request.body() if request.method == "POST" else b"",
                media_type=_media_type(request.headers.get("content-type")),
                query=request.query_params.multi_items() if request.method == "GET" else None,
                headers=request.headers,
            )
            future = asyncio.get_running_loop().run_in_executor(pool, scorer.score, scoring)
        except BaseException:
            gate.leave()
            raise
        future.add_done_callback(gate.finished)
        # asyncio.wait, unlike wait_for, leaves the call running when time is up.
        done, _ = await asyncio.wait((future,), timeout=limits.timeout_s)
        if not done:
            log.error("scoring ran past %.0f ms; answered 408", limits.timeout_s * 1000)
            return _response(timed_out)
        if future.exception() is not None:
            return _response(error_reply(500, "INTERNAL_ERROR", "The worker failed to score."))
        return _response(future.result())

    async def swagger(request: Request) -> Response:
        asked = request.query_params.get("version", "2")
        version = SWAGGER_VERSIONS.get(asked)
        if version is None:
            message = f"Swagger version [{asked}] is not valid. Supported versions: [2, 3, 3.1]."
            return _response(error_reply(404, "NOT_FOUND", message))
        if version not in swaggers:
            swaggers[version] = scorer.swagger(version)
        document = swaggers[version]
        if document is None:
            message = f"Swagger version [{asked}] is not supported by this scoring script."
            return _response(error_reply(404, "NOT_FOUND", message))
        return JSONResponse(document)

    routes = [
        Route("/", health, methods=["GET"]),
        Route("/score", score, methods=["GET", "POST", "OPTIONS"]),
        Route("/swagger.json", swagger, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.partition(";")[0].strip().lower() or None


def _response(reply: Reply) -> Response:
    return Response(reply.body, reply.status, reply.headers, reply.media_type)


if __name__ == "__main__":
    sys.exit(main())
