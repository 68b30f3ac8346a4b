"""Every example of the README and the guide (docs/) is executed: the first example a user copies is the first test."""

from __future__ import annotations

import io
import json
import linecache
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import types
import unittest
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import problemdetails
from problemdetails import Catalog, CatalogError
from problemdetails._cli import main
from tests.asgi import call
from tests.conftest import BUNDLED, ROOT
from tests.environments import environment
from tests.wsgi import serve

README = (ROOT / "README.md").read_text(encoding="utf-8")
# The README, then the guide's chapters: every code block of each is executed below.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# A block the preceding line marks so is a fragment: it shows a shape, and is not run on its own.
FRAGMENT = "<!-- fragment -->"


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README or the guide: its page, the line of its fence, its language."""

    page: str
    line: int
    lang: str
    body: str
    fragment: bool

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", text, re.S | re.M):
        before = text[: match.start()].rstrip("\n")
        line = before.count("\n") + 2 if before else 1
        marker = before.rpartition("\n")[2]
        found.append(
            Block(
                str(path.relative_to(ROOT)),
                line,
                match["lang"],
                match["body"],
                marker == FRAGMENT,
            )
        )
    return found


BLOCKS = [block for page in PAGES for block in read_blocks(page)]


def blocks(lang: str, page: str | None = None) -> list[str]:
    """The bodies of the blocks in `lang`, of one page or of all of them (the README first)."""
    return [block.body for block in BLOCKS if block.lang == lang and page in (None, block.page)]


def page_text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def written_files(folder: Path) -> list[str]:
    """Write every YAML block that starts with `# path` into `folder`; return the paths."""
    paths = []
    for body in blocks("yaml"):
        first = body.splitlines()[0]
        if first.startswith("# ") and first.endswith((".yaml", ".yml")):
            path = folder / first[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            paths.append(first[2:])
    return paths


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def test_readme_first_example_serves_the_exact_body(tmp_path: Path) -> None:
    first = blocks("python", "README.md")[0]
    loaded = re.search(r'Catalog\.load\("([^"]+)"\)', first)
    assert loaded is not None
    assert loaded[1] in written_files(tmp_path)  # the YAML block above it, under the path it loads
    namespace: dict[str, Any] = {}
    with working_directory(tmp_path):
        exec(compile(first, "README.md", "exec"), namespace)
    assert len(first.splitlines()) < 20  # the README promises a short first example
    exchange = call(namespace["app"], "POST", "/v1/zones")
    assert exchange.status == 402
    assert exchange.headers["content-type"] == "application/problem+json"
    shown = json.loads(blocks("json", "README.md")[0])
    assert re.fullmatch("[0-9a-f]{32}", exchange.json()["request_id"])
    assert exchange.json() == {**shown, "request_id": exchange.json()["request_id"]}
    assert list(exchange.json()) == list(shown)  # the member order shown is the real one


def test_readme_files_leave_the_clones_catalog_as_it_is(tmp_path: Path) -> None:
    """Following the README in a clone writes its YAML files beside the bundled catalog/, never into it.

    The later examples and `make demo` load `catalog/` as a folder: a file written
    there joins it (another header is an error; a slug twice is one).
    """
    shutil.copytree(BUNDLED, tmp_path / "catalog")
    written = written_files(tmp_path)
    assert written
    for path in written:
        assert not (ROOT / path).exists(), f"{path} would replace the clone's"
        assert (ROOT / path).parent == ROOT or not (ROOT / path).parent.exists(), f"{path} lands in a clone folder"
    clones = Catalog.load(tmp_path / "catalog")
    assert (clones.name, sorted(clones)) == (Catalog.load(BUNDLED).name, sorted(Catalog.load(BUNDLED)))


# For README examples that build an `app`: a request, and what must come back.
EXPECTED = {
    "from fastapi import": ("POST", "/v1/zones", b'{"name": "z"}', 402, "quota-exceeded"),
    "from litestar import": ("GET", "/v1/zones/z1", b"", 404, "not-found"),
    "from flask import": ("GET", "/v1/zones/z1", b"", 404, "not-found"),  # WSGI
    "import falcon": ("GET", "/v1/zones/z1", b"", 410, "gone"),  # WSGI
    "CORSMiddleware(": ("GET", "/nowhere", b"", 404, "not-found"),
    "async def raw_app": ("GET", "/", b"", 503, "unavailable"),
    "problemdetails.client import": None,  # asserts inside the example
    "profile=EnvelopeProfile()": ("GET", "/v1/zones", b"", 404, "NOT_FOUND"),  # the legacy envelope
    "OpenTelemetryMiddleware(ProblemMiddleware": ("GET", "/nowhere", b"", 404, "not-found"),
    "enrich=enrich": ("GET", "/nowhere", b"", 404, "not-found"),
}

# The examples whose `app` is a WSGI app, served as one.
WSGI = ("WSGIProblemMiddleware(", "from flask import", "import falcon\n")


@contextmanager
def logging_restored() -> Iterator[None]:
    """The logging examples configure the root logger: each gets it back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level


PYTHON = [block for block in BLOCKS if block.lang == "python"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the examples run, as a user's project would: the bundled catalog/ and the guide's YAML files."""
    folder = tmp_path_factory.mktemp("guide")
    shutil.copytree(BUNDLED, folder / "catalog")
    written_files(folder)
    return folder


def run_block(block: Block, folder: Path = ROOT) -> dict[str, Any]:
    # A real module: frameworks such as Litestar resolve annotations through it.
    module = types.ModuleType("example_" + re.sub(r"\W", "_", str(block)))
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    module.__file__ = str(folder / "example.py")  # `Path(__file__).parent` is the folder, as in a project
    # Its source where `inspect.getsource` finds it (Sanic reads a route handler's to pick its error format).
    filename = str(block)
    linecache.cache[filename] = (len(block.body), None, block.body.splitlines(keepends=True), filename)
    with working_directory(folder):  # the examples load catalog/ and the guide's YAML files from there
        exec(compile(block.body, filename, "exec"), namespace)
    return namespace


# The README's first example has a test of its own, above.
@pytest.mark.parametrize("block", PYTHON[1:], ids=str)
def test_examples_run(block: Block, folder: Path) -> None:
    with logging_restored():
        namespace = run_block(block, folder)
        for name, function in list(namespace.items()):
            if name.startswith("test_") and callable(function):
                function()  # an example written as a test is run as one
            elif (  # a test case of the example's own (Tornado's), run as unittest runs it
                isinstance(function, type)
                and issubclass(function, unittest.TestCase)
                and function.__module__ == namespace["__name__"]
            ):
                result = unittest.TestResult()
                unittest.defaultTestLoader.loadTestsFromTestCase(function).run(result)
                assert result.testsRun
                assert result.wasSuccessful(), (result.errors, result.failures)
    expected = [value for marker, value in EXPECTED.items() if marker in block.body and value is not None]
    enrich = namespace.get("enrich")
    if enrich is not None:  # the enrichment example: its members and headers arrive
        exchange = call(namespace["app"], "GET", "/nowhere", {"x-tenant": "acme"})
        assert (exchange.json()["tenant"], exchange.headers["link"]) == (
            "acme",
            '<https://status.example.com>; rel="help"',
        )
    if "app" in namespace and not any(own in block.body for own in ("from aiohttp import", "from sanic import")):
        # (aiohttp's and Sanic's examples are tests of their own, run above)
        (request,) = expected  # every app example is exercised
        method, path, body, status, code = request
        if any(marker in block.body for marker in WSGI):
            served = serve(namespace["app"], method, path, {"Content-Type": "application/json"}, body)
            assert (served.code, served.json()["code"]) == (status, code)
            return
        exchange = call(namespace["app"], method, path, {"content-type": "application/json"}, body)
        assert (exchange.status, exchange.json()["code"]) == (status, code)


SHOWN = [block for block in BLOCKS if block.lang == "text" and block.body.startswith("$ problemdetails ")]
COMMANDS = [
    (block, line)
    for block in BLOCKS
    if block.lang == "sh"
    for line in block.body.splitlines()
    if line.startswith("problemdetails ")
]
# What the guide says each shown command exits with.
SHOWN_STATUS = {"check": 1, "diff": 1}


@pytest.mark.parametrize("block", SHOWN, ids=str)
def test_shown_output_is_real(block: Block, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `$ problemdetails ...` block prints, in the folder of the guide's files, exactly what it shows."""
    command, *expected = block.body.strip().splitlines()
    arguments = shlex.split(command)[2:]
    assert all((folder / argument).exists() for argument in arguments if argument.endswith(".yaml"))
    with working_directory(folder):
        status = main(arguments)
    assert status == SHOWN_STATUS[arguments[0]]
    printed = capsys.readouterr()
    assert (printed.out + printed.err).splitlines() == expected


@pytest.fixture(scope="module")
def repository(folder: Path) -> Path:
    """The guide's folder as a git repository whose `main` holds its catalog/ (for `diff main:catalog/ ...`)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for command in (["init", "-q", "-b", "main"], ["add", "catalog"], ["commit", "-q", "-m", "catalog"]):
        subprocess.run(["git", *command], cwd=folder, env=env, check=True, capture_output=True, timeout=60)
    return folder


@pytest.mark.parametrize(("block", "line"), COMMANDS, ids=[f"{block}: {line}" for block, line in COMMANDS])
def test_shell_lines_run(block: Block, line: str, repository: Path, tmp_path: Path) -> None:
    """Each `problemdetails ...` line of a shell block, run in a copy of the guide's folder as the guide says."""
    work = tmp_path / "project"
    shutil.copytree(repository, work, symlinks=True)
    arguments = shlex.split(line, comments=True)
    if arguments[1] == "serve":  # a server: it answers, then stops on SIGTERM as the guide says
        serve_until_it_answers(arguments, work)
        return
    with working_directory(work):
        if "--check" in arguments:  # it checks what the same line without it writes
            assert main([argument for argument in arguments[1:] if argument != "--check"]) == 0
        for earlier in written_before(block, line, arguments):  # (`i18n import de.po` reads what export wrote)
            assert main(earlier[1:]) == 0, earlier
        assert main(arguments[1:]) == 0, line


def written_before(block: Block, line: str, arguments: list[str]) -> list[list[str]]:
    """The earlier lines of the block that write (`--out FILE`) a file this line reads: run first, in order."""
    earlier = [shlex.split(other, comments=True) for other in block.body.split(line)[0].splitlines()]
    return [
        other
        for other in earlier
        if other[:1] == ["problemdetails"] and "--out" in other and other[other.index("--out") + 1] in arguments
    ]


def serve_until_it_answers(arguments: list[str], folder: Path) -> None:
    import httpx

    port = arguments[arguments.index("--port") + 1]
    server = subprocess.Popen(
        [sys.executable, "-m", "problemdetails", *arguments[1:]],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):  # up to 20 s
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/conflict/", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise AssertionError(server.communicate()[1]) from None
                time.sleep(0.1)
        else:
            raise AssertionError("problemdetails serve did not answer")
        assert response.status_code == 200
        assert "Conflict" in response.text
    finally:
        server.terminate()
        printed = server.communicate(timeout=30)[1]
    assert server.returncode == 0, printed


@pytest.mark.parametrize("block", [block for block in BLOCKS if block.lang == "yaml"], ids=str)
def test_yaml_blocks_load_as_catalogs(block: Block, tmp_path: Path) -> None:
    """Each YAML block is a catalog that loads, but for a fragment (marked) and a file whose findings are shown."""
    document = yaml.safe_load(block.body)
    assert isinstance(document, dict)
    first = block.body.splitlines()[0]
    if "translations" in document:  # a translation: it loads beside the bundled catalog's problems (not its own)
        translated = Catalog.load([*sorted(BUNDLED.glob("*.yaml")), written(tmp_path, block)])
        assert document["translations"]["language"] in translated.translations
        return
    assert "catalog" in document
    if any(shown.body.startswith(f"$ problemdetails check {first[2:]}\n") for shown in SHOWN):
        with pytest.raises(CatalogError):  # its findings are checked above, as shown
            Catalog.load(written(tmp_path, block))
    elif block.fragment:
        with pytest.raises(CatalogError):  # a shape: a catalog on its own it is not (else it needs no mark)
            Catalog.load(written(tmp_path, block))
    else:
        assert len(Catalog.load(written(tmp_path, block))) >= 1


def written(folder: Path, block: Block) -> Path:
    path = folder / "catalog.yaml"
    path.write_text(block.body, encoding="utf-8")
    return path


def install_section() -> str:
    """What a user reads to install the package: the README above its first section, and the guide's `Installing`."""
    return README[: README.index("\n## ")] + page_text("docs/installing.md")


def install_commands() -> list[list[str]]:
    """The `pip` commands of the install section's shell block, as argument lists (`a && b` is two)."""
    shown = [block for block in re.findall(r"```sh\n(.*?)```", install_section(), re.S) if "pip install" in block]
    assert len(shown) == 2  # the README's and the guide's
    commands: list[list[str]] = []
    for line in "\n".join(shown).splitlines():
        command: list[str] = []
        for word in [*shlex.split(line, comments=True), "&&"]:
            if word != "&&":
                command.append(word)
            elif command:
                commands.append(command)
                command = []
    return [list(command) for command in dict.fromkeys(map(tuple, commands))]


# What a copy of the clone leaves out: environments, caches and build output, none of which a clone has.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "build", "dist", "__pycache__", ".*_cache", ".hypothesis", ".coverage*"
)


def test_readme_install_commands_work_in_a_clone(tmp_path: Path) -> None:
    """Each `pip` line of the install section, run in a clone's root as the README says.

    Offline: the install lines are pip's `--dry-run` without dependencies (pip still
    builds the project's metadata from the path given, so a path that is not the
    project fails as it would for a user), and the wheel is built with the suite's
    hatchling. The wheel line then installs the very file it built.
    """
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    commands = install_commands()
    assert {command[:2] == ["pip", "install"] for command in commands} == {True, False}  # installs, and a wheel
    offline = {
        "install": ["--dry-run", "--no-deps", "--no-index", "--no-build-isolation"],
        "wheel": ["--no-index", "--no-build-isolation"],
    }
    for program, verb, *arguments in commands:
        assert program == "pip"
        done = subprocess.run(
            [sys.executable, "-m", "pip", verb, *offline[verb], *arguments],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{shlex.join([program, verb, *arguments])}: {done.stderr}"
        if verb == "install":
            assert f"Would install problemdetails-{problemdetails.__version__}" in done.stdout


# What `problemdetails` is in an environment that also got the unrelated `tornado-problem-details` wheel,
# which installs a package of the same name: its `__init__.py` (exporting `Problem`, `ErrorWriter` and
# `type_link_map`) over ours when it came last, and no `__init__.py` at all once either was uninstalled.
CLASHES = {
    "overwritten": '__all__ = ["ErrorWriter", "Problem", "type_link_map"]\n',
    "uninstalled": None,
}


@pytest.mark.parametrize("clash", ["none", *CLASHES])
def test_readme_install_section_tells_the_other_problemdetails_apart(clash: str, tmp_path: Path) -> None:
    """The install section's checks and the symptom it quotes are what Python and pip say, clash or not."""
    section = install_section()
    assert "tornado-problem-details" in section
    (checks,) = [body for body in re.findall(r"```sh\n(.*?)```", section, re.S) if "pip show" in body]
    pip_show, where = (shlex.split(line, comments=True) for line in checks.splitlines())
    (symptom,) = [body.strip() for body in re.findall(r"```text\n(.*?)```", section, re.S)]
    assert (pip_show[:2], where[:2]) == (["pip", "show"], ["python", "-c"])
    importing = ["-c", "from problemdetails import Catalog"]

    def python(*arguments: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        # Run outside the clone: the current folder is first on sys.path.
        return subprocess.run([sys.executable, *arguments], cwd=tmp_path, capture_output=True, text=True, **kwargs)

    if clash == "none":
        assert python(*where[1:]).stdout.strip() == problemdetails.__file__
        assert python(*importing).returncode == 0
        missing = python("-m", *pip_show)
        assert (missing.returncode, "not found" in missing.stderr) == (1, True)
        return
    package = tmp_path / "site-packages" / "problemdetails"
    package.mkdir(parents=True)
    init = CLASHES[clash]
    if init is not None:
        (package / "__init__.py").write_text(init, encoding="utf-8")
    # -S and PYTHONPATH: that folder and the standard library are all there is, as in that environment.
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    shown = python("-S", *where[1:], env=env)
    assert (shown.returncode, shown.stdout.strip()) == (0, str(package / "__init__.py") if init else "None")
    error = python("-S", *importing, env=env).stderr.strip().splitlines()[-1]
    expected = re.escape(symptom).replace(re.escape("..."), ".*")
    if init is None:  # the README says this ending in words
        assert "in `(unknown location)`" in section
        expected = expected.rpartition(r"\ \(")[0] + r" \(unknown location\)"
    assert re.fullmatch(expected, error), error


def section(page: str, title: str) -> str:
    """The `## title...` section of a page of the guide, up to the next one."""
    text = page_text(page) + "\n## "
    start = text.index(f"\n## {title}")
    return text[start : text.index("\n## ", start + 1)]


# The README's plugin section, run as a user runs it: the example as a test file beside the bundled
# catalog, `filterwarnings = error`, in an environment of what the section says to install. With `httpx`
# in place of `httpx2` it fails: Starlette's TestClient (1.2 on) warns that `httpx` is deprecated.
@pytest.mark.parametrize("client", ["as the README says", "httpx"])
def test_readme_pytest_plugin_example_runs_warning_free(client: str, tmp_path: Path) -> None:
    plugin = section("docs/contracts.md", "Keeping tests and catalog in step")
    (example,) = re.findall(r"```python\n(.*?)```", plugin, re.S)
    (command,) = [
        shlex.split(line, comments=True)
        for block in re.findall(r"```sh\n(.*?)```", plugin, re.S)
        for line in block.splitlines()
        if line.startswith("pip install")
    ]
    # `.` is the clone's root (the install section): this project, with the extras named.
    requirements = [re.sub(r"^\.(?=\[|$)", "problemdetails", argument) for argument in command[2:]]
    assert "problemdetails[pytest]" in requirements
    if client == "httpx":
        assert "httpx2" in requirements
        assert "httpx" in plugin  # the README says why not
        requirements = [name if name != "httpx2" else "httpx" for name in requirements]
    python = environment(requirements, tmp_path / "venv")
    project = tmp_path / "project"
    shutil.copytree(BUNDLED, project / "catalog")
    (project / "test_example.py").write_text(example, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n", encoding="utf-8")
    run = subprocess.run(
        [python, "-m", "pytest", "-p", "problemdetails.pytest", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if client == "httpx":
        assert run.returncode == 2, run.stdout  # an error while collecting
        assert "StarletteDeprecationWarning: Using `httpx` with `starlette.testclient` is deprecated" in run.stdout
    else:
        assert run.returncode == 0, run.stdout + run.stderr
        assert " 1 passed in " in run.stdout.splitlines()[-1]


# tests/sentry/run.py (the real SDK, an in-memory transport), the example apps' own exception mapped to a 5xx
# slug instead of `conflict`.
MAPPED_TO_A_5XX = """
import sys
from examples.frameworks import common
common.EXCEPTION_MAP[common.ZoneLocked] = "gateway-timeout"
from tests.sentry import run
run.PATHS[:] = ["/mapped"]
run.main(sys.argv[1])
"""


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "django", "flask"])
def test_readme_sentry_an_exception_mapped_to_a_5xx_is_one_event(framework: str) -> None:
    """The README's Sentry bullets: the answer's status decides, not how it came about.

    Mapped to a 4xx slug, an exception is no event (tests/test_sentry.py); mapped to a
    5xx one, it is one: its ERROR record's, carrying the exception, tagged like a crash.
    """
    sentry = section("docs/production.md", "Sentry")
    assert "an exception mapped to a 5xx slug" in sentry
    run = subprocess.run(
        [sys.executable, "-c", MAPPED_TO_A_5XX, framework], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)["/mapped"]
    assert seen["status"] == 504
    assert [event[0] for event in seen["events"]] == ["ZoneLocked"]
    assert seen["tags"] == [{"request_id": "id-mapped", "problem.code": "gateway-timeout"}]


def test_readme_lists_the_two_setup_commands() -> None:
    """Right after the first example: the two commands a fresh machine needs, and no other."""
    assert re.findall(r"^## (.+)$", README, re.M)[0] == "Set up"
    setup = README[README.index("## Set up") :].split("\n## ", 1)[0]
    (shown,) = re.findall(r"```sh\n(.*?)```", setup, re.S)
    assert [shlex.split(line, comments=True) for line in shown.splitlines()] == [["make", "demo"], ["make", "test"]]


def test_readme_django_lines_are_the_tested_projects() -> None:
    """The Django block cannot run beside other Django settings; its lines are the served example's."""
    (shown,) = blocks("py")
    project = (ROOT / "examples" / "frameworks" / "django_app.py").read_text(encoding="utf-8")
    lines = {line.strip() for line in project.splitlines()}
    assert all(line.strip() in lines for line in shown.splitlines() if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("marker", ["class JSONFormatter", "structlog.configure"])
def test_readme_json_logs_carry_the_fields(marker: str, bundled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's JSON-logs set-ups, run: each problem's record and the app's own lines as JSON, with the ids."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from problemdetails import ProblemMiddleware

    (block,) = [block for block in PYTHON if marker in block.body]
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)  # where the examples' StreamHandler writes

    def view(request: Request) -> PlainTextResponse:
        logging.getLogger("app").info("looking it up")
        raise bundled["not-found"]("No such zone.")

    app = ProblemMiddleware(Starlette(routes=[Route("/zones/z1", view)]), catalog=bundled)
    with logging_restored():
        run_block(block)
        assert call(app, path="/zones/z1", headers={"X-Request-ID": "log-1"}).status == 404
    lines = [json.loads(line) for line in stderr.getvalue().splitlines()]
    own = next(line for line in lines if line.get("event", line.get("message")) == "looking it up")
    problem = next(line for line in lines if line.get("problem_code") == "not-found")
    assert own["request_id"] == problem["request_id"] == "log-1"
    assert (problem["problem_status"], problem["method"], problem["path"]) == (404, "GET", "/zones/z1")


def test_readme_stack_we_do_not_ship_serves_problems_from_the_responder() -> None:
    """The README's integration with the standard library's server, served on 127.0.0.1 and asked."""
    import threading
    from http.server import ThreadingHTTPServer

    import httpx

    (block,) = [block for block in PYTHON if "BaseHTTPRequestHandler" in block.body]
    assert len(block.body.splitlines()) < 30  # DESIGN: "in under 30 lines"
    with logging_restored():
        namespace = run_block(block)
        server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Handler"])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{server.server_address[1]}"
            missing = httpx.get(base + "/v1/zones?page=2", headers={"X-Request-ID": "req-stdlib-1"}, timeout=10)
            body = missing.json()
            assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
            assert (body["code"], body["instance"], body["request_id"]) == ("not-found", "/v1/zones", "req-stdlib-1")
            assert missing.headers["x-request-id"] == "req-stdlib-1"
            assert missing.headers["content-length"] == str(len(missing.content))
            slow = httpx.get(base + "/v1/slow", headers={"Accept": "application/problem+xml"}, timeout=10)
            assert (slow.status_code, slow.headers["content-type"]) == (504, "application/problem+xml")
            assert b"the zone store" not in slow.content  # a mapped exception's message stays in the log
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def test_guide_builds_strict(tmp_path: Path) -> None:
    """`make docs`'s build: mkdocs-material, strict, so a broken link or anchor in docs/ fails it."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["strict"] is True
    assert set(config["validation"].values()) == {"warn"}  # each a warning, and strict fails on warnings
    pages = {str(page.relative_to(ROOT / "docs")) for page in ROOT.joinpath("docs").rglob("*.md")}
    assert pages == set(nav_pages(config["nav"]))  # every chapter is in the navigation
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr
    assert (tmp_path / "site" / "frameworks" / "tornado" / "index.html").is_file()


def nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_pages(item)
    elif isinstance(nav, dict):
        for item in nav.values():
            yield from nav_pages(item)


def test_readme_links_resolve() -> None:
    """The README's relative links (mkdocs does not build it): each file exists, each anchor is a heading there."""
    from markdown.extensions.toc import slugify

    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", README)
    assert len(links) > 20
    for target, anchor in links:
        if "://" in target:
            continue
        path = ROOT / target
        assert path.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
            assert anchor in {slugify(heading, "-") for heading in headings}, f"{target}#{anchor}"


def test_framework_pages_install_what_the_suite_tests_with() -> None:
    """Each framework page's `pip install` line names packages the suite runs its examples with (the dev extra)."""
    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tested = {Requirement(line).name.lower() for line in project["project"]["optional-dependencies"]["dev"]}
    pages = sorted((ROOT / "docs" / "frameworks").glob("*.md"))
    named = 0
    for page in pages:
        for block in read_blocks(page):
            for line in block.body.splitlines() if block.lang == "sh" else []:
                words = shlex.split(line, comments=True)
                assert words[:2] == ["pip", "install"], f"{block}: {line}"
                names = {Requirement(word).name.lower() for word in words[2:]}
                assert names <= tested, f"{block}: {names - tested} not in the dev extra"
                named += len(names)
    assert named >= 10
