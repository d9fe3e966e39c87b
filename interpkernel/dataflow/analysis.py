"""What a cell reads and writes, from its syntax tree.

The dataflow layer's view of a cell (shared by the ``%%interp`` magic and the
kernel): which names it needs from before (`reads`), which names it binds or
changes (`writes`), which it deletes, and whether its effects cannot be known
statically (`barrier`: star imports, ``exec``/``eval``/``globals()`` and the
like), in which case a scheduler must order it after everything before it.

Following the product's promise, calling a method on a name or assigning into
it (``x.append(1)``, ``x[0] = 1``, ``x.a = 1``) counts as writing that name.
"""

import ast
from dataclasses import dataclass

__all__ = ['CellEffects', 'analyse']

_DYNAMIC_CALLS = frozenset({'exec', 'eval', 'globals', 'locals', 'vars', '__import__',
                            'get_ipython', 'compile'})


@dataclass(frozen=True)
class CellEffects:
    """The names a cell touches.

    Attributes:
        reads: names the cell may read before binding them itself, in order of
            first use (builtins included: whether one is shadowed depends on the
            namespace the cell runs in).
        writes: names the cell binds, rebinds or mutates, in order.
        deletes: names the cell deletes with ``del name``.
        barrier: why the cell's effects cannot be known statically, or None.
        imports: top-level packages the cell imports (anywhere in it).
        mutates: the names among `writes` that the cell only changes in place
            (method calls, item or attribute assignment), never binds.
        modules: names the cell binds with an import statement.
    """
    reads: tuple
    writes: tuple
    deletes: tuple
    barrier: str | None
    imports: tuple = ()
    mutates: tuple = ()
    modules: tuple = ()


def analyse(source, filename='<cell>'):
    """Return the `CellEffects` of cell `source` (raises SyntaxError)."""
    tree = compile(source, filename, 'exec', ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    visitor = _Visitor()
    for statement in tree.body:
        visitor.top_level(statement)
    mutates = tuple(n for n in visitor.mutated if n not in visitor.bound_names)
    return CellEffects(tuple(visitor.reads), tuple(visitor.writes),
                       tuple(visitor.deletes), visitor.barrier, tuple(visitor.imports), mutates,
                       tuple(visitor.modules))


class _Ordered(dict):
    """An insertion-ordered set."""

    def add(self, name):
        self[name] = None


class _Visitor(ast.NodeVisitor):
    def __init__(self):
        self.reads, self.writes, self.deletes = _Ordered(), _Ordered(), _Ordered()
        self.imports = _Ordered()
        self.mutated, self.bound_names = _Ordered(), set()
        self.modules = _Ordered()
        self.barrier = None
        # Names surely bound by earlier statements: one set per nesting of
        # if/for/while/try/with/match; a block's own bindings end with it.
        self._bound = [set()]
        self._scopes = []          # local names of enclosing function/class/comprehension scopes
        self._kinds = []           # 'function', 'class' or 'comprehension', per scope
        self._globals = []         # names declared global in those scopes

    # -- bookkeeping --

    def _is_local(self, name):
        """Is `name` bound in an enclosing scope that can see it (class bodies
        are invisible to the functions defined in them)?"""
        for depth, (scope, kind) in enumerate(zip(reversed(self._scopes), reversed(self._kinds))):
            if depth and kind == 'class':
                continue
            if name in scope:
                return True
        return False

    def _enter(self, kind, local, declared=()):
        self._scopes.append(local)
        self._kinds.append(kind)
        self._globals.append(set(declared))

    def _leave(self):
        self._scopes.pop()
        self._kinds.pop()
        self._globals.pop()

    def _load(self, name):
        if self._is_local(name):
            return
        if not any(name in bound for bound in self._bound):
            self.reads.add(name)

    def _store(self, name):
        if self._scopes and name not in self._globals[-1]:
            self._scopes[-1].add(name)
            return
        self._store_global(name)

    def _store_global(self, name):
        self.writes.add(name)
        self.bound_names.add(name)
        self.deletes.pop(name, None)
        if not self._scopes:
            self._bound[-1].add(name)

    def _mutate(self, node):
        """`node` is changed in place: count its root name as written."""
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        if isinstance(node, ast.Name) and not self._is_local(node.id):
            self._load(node.id)
            self.writes.add(node.id)
            self.mutated.add(node.id)

    def _dynamic(self, why):
        if self.barrier is None:
            self.barrier = why

    def top_level(self, statement):
        self.visit(statement)

    # -- names --

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)
        elif isinstance(node.ctx, ast.Store):
            self._store(node.id)
        else:  # Del: the name must exist first
            self._load(node.id)
            if not self._scopes or node.id in self._globals[-1]:
                self.deletes.add(node.id)
                self.writes.pop(node.id, None)
                for bound in self._bound:
                    bound.discard(node.id)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._mutate(node.value)
        self.generic_visit(node)

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._mutate(node.value)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute):
            self._mutate(func.value)
        elif isinstance(func, ast.Name) and func.id in _DYNAMIC_CALLS \
                and not self._is_local(func.id):
            self._dynamic(f'it calls {func.id}()')
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self._load(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_Assign(self, node):
        self.visit(node.value)     # the value is evaluated before the targets bind
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.target)
        self.visit(node.annotation)

    def visit_NamedExpr(self, node):
        # The target binds in the nearest scope that is not a comprehension.
        self.visit(node.value)
        name = node.target.id
        depth = len(self._scopes)
        while depth and self._kinds[depth - 1] == 'comprehension':
            depth -= 1
        if depth and name not in self._globals[depth - 1]:
            self._scopes[depth - 1].add(name)
        else:
            self._store_global(name)

    def _capture(self, node):
        for name in (getattr(node, 'name', None), getattr(node, 'rest', None)):
            if name is not None:
                self._store(name)
        self.generic_visit(node)

    visit_MatchAs = visit_MatchStar = visit_MatchMapping = _capture

    # -- imports --

    def visit_Import(self, node):
        for alias in node.names:
            self.imports.add(alias.name.partition('.')[0])
            name = alias.asname or alias.name.partition('.')[0]
            self._store(name)
            if not self._scopes:
                self.modules.add(name)

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:
            self.imports.add(node.module.partition('.')[0])
        for alias in node.names:
            if alias.name == '*':
                self._dynamic(f'it star-imports from {node.module}')
            else:
                self._store(alias.asname or alias.name)

    # -- scopes --

    def _function(self, node, body, args):
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self.visit(default)
        for decorator in getattr(node, 'decorator_list', ()):
            self.visit(decorator)
        local = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        declared = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Global):
                declared.update(child.names)
        self._enter('function', local, declared)
        # Bind every local first, so reads of them anywhere in the body stay local.
        for child in _walk_scope(body):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store) \
                    and child.id not in declared:
                local.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and child.name not in declared:
                local.add(child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                local.update(a.asname or a.name.partition('.')[0] for a in child.names
                             if a.name != '*' and (a.asname or a.name) not in declared)
        for statement in (body if isinstance(body, list) else [body]):
            self.visit(statement)
        self._leave()

    def visit_FunctionDef(self, node):
        self._function(node, node.body, node.args)
        self._store(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._function(node, node.body, node.args)

    def visit_ClassDef(self, node):
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)
        self._enter('class', set())
        for statement in node.body:
            self.visit(statement)
        self._leave()
        self._store(node.name)

    def _comprehension(self, node, elements):
        # The first iterable is evaluated in the enclosing scope.
        self.visit(node.generators[0].iter)
        local = set()
        for generator in node.generators:
            for name in ast.walk(generator.target):
                if isinstance(name, ast.Name):
                    local.add(name.id)
        self._enter('comprehension', local)
        for index, generator in enumerate(node.generators):
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for element in elements:
            self.visit(element)
        self._leave()

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])

    # -- control flow: bindings inside are conditional --

    def _conditional_block(self, node):
        self._bound.append(set())
        self.generic_visit(node)
        self._bound.pop()

    visit_If = visit_For = visit_AsyncFor = visit_While = visit_Try = visit_TryStar = \
        visit_With = visit_AsyncWith = visit_Match = _conditional_block


def _walk_scope(body):
    """Nodes of a function body, not descending into nested scopes."""
    stack = list(body) if isinstance(body, list) else [body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        stack.extend(ast.iter_child_nodes(node))

