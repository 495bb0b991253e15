"""The dependency graph of a scan dir (`dependencies` files), pure functions.

`read_graph()` is the only I/O: NAME -> names it depends on, for every
service dir of the scan dir. The rest answers the questions the supervisor,
the stop order and the linter ask: what is missing, what is in a cycle, what
can never start and why, and in which layers things may start.
"""
import os

from .servicedir import read_lines

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Set, Tuple
    Graph = Dict[str, List[str]]


def read_graph(scandir: str) -> "Graph":
    graph: Graph = {}
    for name in sorted(os.listdir(scandir)):
        path = os.path.join(scandir, name)
        if name.startswith(".") or not os.path.isdir(path):
            continue
        try:
            graph[name] = read_lines(path, "dependencies") or []
        except OSError:
            graph[name] = []
    return graph


def check_graph(graph: "Graph") -> "Tuple[Dict[str, List[str]], List[List[str]]]":
    """(service -> missing names it depends on, cycles as lists of names, each once)."""
    missing = {}
    for name, deps in graph.items():
        gone = [d for d in deps if d not in graph]
        if gone:
            missing[name] = gone
    cycles: List[List[str]] = []
    seen_cycles: Set[frozenset] = set()
    state: Dict[str, int] = {}   # 1 = on the current path, 2 = done

    def visit(node: str, path: "List[str]") -> None:
        state[node] = 1
        path.append(node)
        for d in graph.get(node, ()):
            if d not in graph:
                continue
            if state.get(d) == 1:
                cyc = path[path.index(d):]
                key = frozenset(cyc)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    cycles.append(list(cyc))
            elif d not in state:
                visit(d, path)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return missing, cycles


def blocked(graph: "Graph") -> "Dict[str, str]":
    """Every service that can never start, with the reason in words."""
    missing, cycles = check_graph(graph)
    why: Dict[str, str] = {}
    for name, gone in missing.items():
        why[name] = "missing dependency: " + ", ".join(gone)
    for cyc in cycles:
        text = "dependency cycle: " + " -> ".join(cyc + cyc[:1])
        for name in cyc:
            why.setdefault(name, text)
    changed = True
    while changed:
        changed = False
        for name, deps in graph.items():
            if name in why:
                continue
            bad = [d for d in deps if d in why]
            if bad:
                why[name] = "depends on %s, which cannot start" % bad[0]
                changed = True
    return why


def start_levels(graph: "Graph") -> "List[List[str]]":
    """Layers of startable services: each layer depends only on earlier ones."""
    bad = blocked(graph)
    left = {n for n in graph if n not in bad}
    done: Set[str] = set()
    levels = []
    while left:
        layer = sorted(n for n in left if all(d in done for d in graph[n]))
        if not layer:
            break
        levels.append(layer)
        done.update(layer)
        left.difference_update(layer)
    return levels


def stop_order(graph: "Graph") -> "List[List[str]]":
    """The start layers reversed: dependents stop before what they depend on."""
    return list(reversed(start_levels(graph)))
