"""PyYAML's parser messages (`expected <block end>, but found '<block mapping start>'`) as sentences a user
can act on."""

from __future__ import annotations

_PLAIN = (
    ("expected <block end>", "the indentation does not line up: this line is indented more or less than the "
     "lines of the same block above it"),
    ("mapping values are not allowed here", "a second `: ` on one line; put quotes around a value that holds "
     "`: `, or move the nested key to its own indented line"),
    ("found character '\\t' that cannot start any token", "a tab character; YAML indents with spaces only"),
    ("could not find expected ':'", "a line inside a block that is not `key: value`; add the `:` or fix the "
     "indentation"),
    ("found undefined alias", "an alias (`*name`) with no anchor (`&name`) above it"),
    ("expected ',' or ']'", "a list in brackets that is not closed; add the missing `]` or `,`"),
    ("expected ',' or '}'", "a mapping in braces that is not closed; add the missing `}` or `,`"),
    ("found unexpected end of stream", "the file ends inside a quoted text or a bracket; close it"),
    ("did not find expected key", "a line in a block that is not a `key: value`; check its indentation"),
    ("did not find expected '-' indicator", "a list item that does not start with `- ` at the list's indentation"),
)


def plain(reason: str) -> str:
    for raw, sentence in _PLAIN:
        if raw in reason:
            return sentence
    return reason
