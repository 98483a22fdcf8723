"""The one feature registry (server/features.py): every feature listed is wired into the CLI,
the API, the web UI, the job queue and ingest, nothing is wired that is not listed, and no
module imports the assembled ``saola`` command back (the import cycle the registry replaced)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

from server import features

ROOT = Path(__file__).resolve().parents[2]
CLI_ROOT = "server.cli.root"
CLI_ENTRY_POINTS = {"server.cli", "server.cli.__main__"}  # they load the root for `saola` / `python -m`


def _walk(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, prefix + (name,))


def test_every_cli_module_adds_its_commands_to_saola():
    from server.cli import main

    declared = {}
    for name in features.modules("cli"):
        mod = __import__(name, fromlist=["register"])
        probe = click.Group("saola")
        probe.add_command(click.Group("export"))
        probe.add_command(click.Group("import"))
        mod.register(probe)
        added = {path: cmd for path, cmd in _walk(probe) if path not in (("export",), ("import",))}
        assert added, f"{name}.register adds no command"
        for path, cmd in added.items():
            assert path not in declared, f"saola {' '.join(path)} is added by {name} and {declared[path]}"
            declared[path] = name
            found = main
            for p in path:
                found = found.commands[p]
            assert found is cmd, f"saola {' '.join(path)} of {name} is not the one saola runs"
    wired = {path for path, _ in _walk(main)} - {("export",), ("import",)}
    # Subcommands of a declared group come with it.
    undeclared = {p for p in wired if not any(p[:len(d)] == d for d in declared)}
    assert not undeclared, f"commands not added through server/features.py: {sorted(undeclared)}"


def test_every_api_module_and_page_blueprint_is_registered(app):
    api_modules = set(features.modules("api"))
    served = {fn.__module__ for rule, fn in app.view_functions.items() if rule.startswith("api.")}
    assert api_modules <= served, f"API modules with no route: {sorted(api_modules - served)}"
    assert served <= api_modules | {"server.api.core"}, f"undeclared API modules: {sorted(served - api_modules)}"
    page_bps = {__import__(m, fromlist=["bp"]).bp.name: m for m in features.modules("pages")}
    for name, module in page_bps.items():
        assert app.blueprints.get(name) is __import__(module, fromlist=["bp"]).bp, f"{module}.bp not registered"
    assert set(app.blueprints) == {"api", "web"} | set(page_bps)


def test_every_job_module_registers_handlers_and_every_hook_has_its_job(app):
    from server.jobs.core import HANDLERS, load_handlers

    load_handlers()  # what a worker does at its first job (the app itself imports no handler module)

    owners = {fn.__module__ for fn in HANDLERS.values()}
    for name in features.modules("jobs"):
        assert name in owners, f"{name} registers no job handler"
    hooks = features.ingest_hooks()
    assert {h.media_kind for h in hooks} == {"image", "video", "audio"}
    for hook in hooks:
        assert callable(hook.load()), hook.target


def test_every_reader_module_registers_readers():
    from server.ingest import registry

    registry.load_plugins()
    by_package = {r.read.__module__.rsplit(".", 1)[0] for r in registry.READERS.values()}
    for name in features.modules("readers"):
        assert name.rsplit(".", 1)[0] in by_package, f"{name} registers no ingest reader"


def test_unknown_part_is_refused():
    with pytest.raises(ValueError, match="unknown feature part"):
        features.modules("plugins")


# ---- the import graph ---------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path):
    """(target module, imported names) of every import in the file, module- or function-level."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, tuple(a.name for a in node.names)


def _graph() -> dict[str, set[str]]:
    """Module -> modules it imports (a name imported from a package counts as the submodule when
    one exists); the feature registry's modules count as imported by the subsystems reading them."""
    files = {_module_name(p): p for p in (ROOT / "server").rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        for target, names in _imports(path):
            graph[mod].add(target)
            graph[mod].update(f"{target}.{n}" for n in names if f"{target}.{n}" in files)
    readers = {"cli": CLI_ROOT, "api": "server.api", "pages": "server.web", "jobs": "server.jobs.handlers",
               "readers": "server.ingest.registry"}
    for kind, reader in readers.items():
        graph[reader].update(features.modules(kind))
    graph["server.ingest.pipeline"].update(h.target.partition(":")[0] for h in features.ingest_hooks())
    return graph


def test_no_module_imports_the_cli_root():
    """Feature command modules import server.cli.common, never the assembled command."""
    files = {_module_name(p): p for p in (ROOT / "server").rglob("*.py")}
    offenders = []
    for mod, path in files.items():
        if mod in CLI_ENTRY_POINTS:
            continue
        for target, names in _imports(path):
            if target == CLI_ROOT or (target == "server.cli" and any(f"server.cli.{n}" not in files for n in names)) \
                    or (target == "server" and "cli" in names):
                offenders.append(f"{mod} imports {target} {names or ''}")
    assert not offenders, "\n".join(offenders)


def test_no_import_cycle_through_the_cli_root():
    graph = _graph()
    seen, stack = set(), [CLI_ROOT]
    while stack:  # everything the root imports, directly or not
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    assert CLI_ROOT not in seen, "a module the saola command imports imports the command back"
    # The old hand-kept cycle: each feature's command module reached the root again.
    assert set(features.modules("cli")) <= seen


def test_feature_commands_import_without_the_root_then_assemble():
    """Importing a feature's command module first (as workers and tests do) leaves the root alone,
    and the root assembled afterwards has every feature's commands."""
    code = (
        "import sys\n"
        "from server import features\n"
        "for m in features.modules('cli'):\n"
        "    __import__(m)\n"
        f"assert {CLI_ROOT!r} not in sys.modules, 'a command module imported the root'\n"
        "from server.cli import main\n"
        "print(sorted(main.commands))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'ingest'" in out.stdout and "'report'" in out.stdout and "'users'" in out.stdout
