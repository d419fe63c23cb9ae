"""What the views show: the data of one input and where the person is looking in it.

One `Selection` is shared by all views. Views draw from it and write to it (a thumbnail
click opens a head, a token click focuses a token); every change is announced once, so
each view redraws once per action however many fields it touched.

Shift-click builds a set of tokens (`chosen`) whose attention the views show together: each
token's own, or their sum or mean (`how`). Any plain focus change lets the set go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from explorer.core.ablation import HeadMasks
from explorer.core.result import StackAttention
from explorer.core.state.events import Event
from explorer.core.token_sets import FROM, MEAN, SUM, TO

DIRECTIONS = (FROM, TO)  # FROM: the focused token is a query; TO: a key, and the attention it receives
EACH = "each"  # a token set shows every token's own attention
HOWS = (EACH, SUM, MEAN)  # how a token set's attention is shown


class Selection:
    """The stacks of one run, and the stack, layer, head, focused token and visible heads shown;
    and which heads are ablated. Qt-free: widgets connect to its events."""

    def __init__(self) -> None:
        self.stacks_changed = Event()  # new data or another stack: views rebuild what depends on the data
        self.changed = Event()  # layer, head, token, direction or visible heads: views redraw
        self.heads_changed = Event()  # a head was ablated or kept again: the model runs again, views mark it
        # (stack, rows): a long input lacks exact rows a view shows (a focused query, a zoomed-in window)
        self.rows_wanted = Event()
        self._stacks: dict[str, StackAttention] = {}
        self._stack_name: str | None = None
        self._layer = 0
        self._head: int | None = 0
        self._token: int | None = None
        self._chosen: frozenset[int] = frozenset()  # Shift-clicked tokens: empty, or two and more
        self._how = EACH
        self._direction = FROM
        self._visible_heads: frozenset[int] = frozenset()
        self._heads_known = 0  # head count the visible set was made for
        self._head_masks: HeadMasks | None = None  # per stack, which heads are ablated
        self._zoom_rows: tuple[int, ...] = ()  # the query rows a zoomed-in matrix shows
        self._asked: tuple | None = None  # the newest rows_wanted, not asked again

    # -- what is shown (read only; change it through the methods below) --------------------
    @property
    def stacks(self) -> Mapping[str, StackAttention]:
        return self._stacks

    @property
    def stack_name(self) -> str | None:
        return self._stack_name

    @property
    def stack(self) -> StackAttention | None:
        return self._stacks.get(self._stack_name) if self._stack_name else None

    @property
    def layer(self) -> int:
        return self._layer

    @property
    def head(self) -> int | None:
        """A head index, or None for the mean of the layer's heads."""
        return self._head

    @property
    def token(self) -> int | None:
        """The focused token: a query index when direction is FROM, a key index when TO."""
        return self._token

    @property
    def chosen(self) -> frozenset[int]:
        """The Shift-clicked token set (indices like `token`'s): empty, or at least two tokens,
        the focused one among them."""
        return self._chosen

    @property
    def tokens(self) -> tuple[int, ...]:
        """The tokens whose attention is shown, in order: the chosen set, else the focused token."""
        if self._chosen:
            return tuple(sorted(self._chosen))
        return () if self._token is None else (self._token,)

    @property
    def focus_tokens(self) -> tuple[str, ...]:
        """The token strings that `token` and `chosen` index: the shown stack's queries (FROM)
        or its keys (TO); () without data."""
        stack = self.stack
        if stack is None:
            return ()
        return stack.query_tokens if self._direction == FROM else stack.key_tokens

    def token_names(self) -> str:
        """The tokens whose attention is shown, quoted and in order: "'the', 'cat'"."""
        names = self.focus_tokens
        return ", ".join(repr(names[t]) for t in self.tokens)

    @property
    def how(self) -> str:
        """How a chosen set is shown: EACH token's own attention, or their SUM or MEAN."""
        return self._how

    @property
    def direction(self) -> str:
        return self._direction

    @property
    def visible_heads(self) -> frozenset[int]:
        """The heads whose lines the head view draws."""
        return self._visible_heads

    @property
    def head_masks(self) -> HeadMasks | None:
        return self._head_masks

    def matrix(self):
        """(queries, keys) of the selected layer and head (or mean), or None without data or where a
        long input holds only some rows (see `row` and StackAttention.pooled_head)."""
        stack = self.stack
        return None if stack is None or not stack.complete else stack.head(self._layer, self._head)

    def row(self, query: int) -> np.ndarray | None:
        """(keys,) the exact attention of one query in the selected layer and head (or mean), or None."""
        stack = self.stack
        return None if stack is None else stack.row(self._layer, self._head, query)

    def wanted_rows(self) -> tuple[int, ...]:
        """The query rows the views show exactly: the focused queries and a zoomed-in window."""
        focus = self.tokens if self._direction == FROM else ()  # a key's column is every row: pooled only
        return tuple(sorted(set(focus) | set(self._zoom_rows)))

    def show_rows(self, rows: Iterable[int]) -> None:
        """A zoomed-in matrix shows these query rows: a long input fetches them exactly."""
        self._zoom_rows = tuple(rows)
        self._ask_rows()

    def _ask_rows(self) -> None:
        """Say which rows a long input lacks, once per set of rows."""
        stack = self.stack
        if stack is None or stack.complete:
            return
        wanted = self.wanted_rows()
        missing = set(wanted) - set(stack.rows)
        request = (self._stack_name, wanted)
        if missing and request != self._asked:
            self._asked = request
            self.rows_wanted.emit(self._stack_name, wanted)

    # -- changes --------------------------------------------------------------------------
    def set_stacks(self, stacks: Mapping[str, StackAttention]) -> None:
        """New data (a new input or model). Keeps stack, layer, head and focus where they still fit,
        and the chosen set only where the tokens are the same (a re-run with a head ablated)."""
        if _tokens_of(stacks) != _tokens_of(self._stacks):
            self._chosen, self._zoom_rows = frozenset(), ()
        self._asked = None  # a run came back: what it lacks may be asked for again (at the next change)
        self._stacks = dict(stacks)
        if self._stack_name not in self._stacks:
            self._stack_name = next(iter(self._stacks), None)
        self._clamp()
        self.stacks_changed.emit()
        self.changed.emit()

    def set_stack(self, name: str) -> None:
        if name not in self._stacks:
            raise KeyError(f"no stack {name!r}; the data has {list(self._stacks)}")
        if name == self._stack_name:
            return
        self._stack_name = name
        self._clamp()
        self.stacks_changed.emit()
        self.changed.emit()

    def set_layer(self, layer: int) -> None:
        self._apply(layer=layer)

    def set_head(self, head: int | None) -> None:
        self._apply(head=head)

    def open_head(self, layer: int, head: int | None) -> None:
        """Show one head everywhere: the matrix view draws it, the head view draws it alone
        (the mean of heads shows them all)."""
        heads = range(self.stack.heads) if self.stack else ()
        visible = frozenset(heads) if head is None else frozenset({head})
        self._apply(layer=layer, head=head, visible_heads=visible)

    def move(self, d_layer: int, d_head: int) -> None:
        """Arrow keys: step through layers and heads; one step past the last head is the mean."""
        stack = self.stack
        if stack is None:
            return
        column = stack.heads if self._head is None else self._head
        column = min(max(column + d_head, 0), stack.heads)
        layer = min(max(self._layer + d_layer, 0), stack.layers - 1)
        self.open_head(layer, None if column == stack.heads else column)

    def set_token(self, token: int | None, direction: str | None = None) -> None:
        """Focus one token (None: none); a chosen set is let go."""
        self._apply(token=token, direction=direction or self._direction, chosen=frozenset())

    def toggle_token(self, token: int, direction: str | None = None) -> None:
        """Shift-click: add `token` to the chosen set (which starts from the focused token), or
        take it out. A token of the other direction starts afresh from that token alone."""
        direction = direction or self._direction
        if direction != self._direction:
            self.set_token(token, direction)
            return
        start = self._chosen or ({self._token} if self._token is not None else set())
        chosen = frozenset(start ^ {token})
        kept = self._token if self._token in chosen else min(chosen, default=None)
        focused = token if token in chosen else kept  # one taken out: focus stays on a token still chosen
        self._apply(token=focused, chosen=chosen if len(chosen) > 1 else frozenset())

    def set_how(self, how: str) -> None:
        if how not in HOWS:
            raise ValueError(f"how must be one of {HOWS}, got {how!r}")
        self._apply(how=how)

    def set_direction(self, direction: str) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        self._apply(direction=direction)

    def set_head_visible(self, head: int, visible: bool) -> None:
        heads = self._visible_heads | {head} if visible else self._visible_heads - {head}
        self._apply(visible_heads=heads)

    def set_visible_heads(self, heads: Iterable[int]) -> None:
        self._apply(visible_heads=frozenset(heads))

    # -- head ablation (of the shown stack) -----------------------------------------------
    def set_head_masks(self, masks: HeadMasks | None) -> None:
        """A new model's head masks (all heads kept)."""
        self._head_masks = masks
        self.heads_changed.emit()

    def toggle_head(self, layer: int, head: int) -> None:
        """Ablate the head, or keep it again."""
        self._edit_heads(lambda m: m.toggle(self._stack_name, layer, head))

    def keep_only_head(self, layer: int, head: int) -> None:
        """Ablate every other head of the layer in the shown stack."""
        self._edit_heads(lambda m: m.keep_only(self._stack_name, layer, head))

    def reset_heads(self) -> None:
        if self._head_masks is not None and self._head_masks.any_ablated:
            self._edit_heads(HeadMasks.reset)

    def _edit_heads(self, edit) -> None:
        if self._head_masks is None or self._stack_name not in self._head_masks.shapes:
            return
        edit(self._head_masks)
        self.heads_changed.emit()

    # -- keeping the fields consistent ----------------------------------------------------
    def _fields(self) -> tuple:
        return self._layer, self._head, self._token, self._chosen, self._how, self._direction, self._visible_heads

    def _apply(self, **values) -> None:
        before = self._fields()
        for name, value in values.items():
            setattr(self, f"_{name}", value)
        self._clamp()
        if self._fields() != before:
            self.changed.emit()
            self._ask_rows()

    def _clamp(self) -> None:
        stack = self.stack
        if stack is None:
            self._layer, self._head, self._token, self._chosen = 0, 0, None, frozenset()
            return
        self._layer = min(max(self._layer, 0), stack.layers - 1)
        if self._head is not None:
            self._head = min(max(self._head, 0), stack.heads - 1)
        if stack.heads != self._heads_known:  # another model: show all its heads
            self._visible_heads = frozenset(range(stack.heads))
            self._heads_known = stack.heads
        self._visible_heads = frozenset(h for h in self._visible_heads if 0 <= h < stack.heads)
        tokens = len(self.focus_tokens)
        if self._token is not None and not 0 <= self._token < tokens:
            self._token = None
        chosen = frozenset(t for t in self._chosen if 0 <= t < tokens)
        if chosen and self._token not in chosen:
            self._token = min(chosen)
        self._chosen = chosen if len(chosen) > 1 else frozenset()


def _tokens_of(stacks: Mapping[str, StackAttention]) -> dict[str, tuple]:
    """What the chosen set's indices refer to: each stack's query and key tokens."""
    return {name: (s.query_tokens, s.key_tokens) for name, s in stacks.items()}
